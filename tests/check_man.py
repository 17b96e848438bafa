#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks a man page against the program's --help, both ways.

    check_man.py PROG HELP_FILE MAN_PAGE VERSION

--help side: an option line is a line indented 1-8 spaces whose text starts with
'-' ("  -o, --out DIR   text", "      --force   text"); the lines below it that are
indented deeper (and do not start with '-') continue its text.  A default is what
the entry's text (after the option names) gives as "default: X)" or as "[X]".
Man side: every .TP entry in the OPTIONS section (its .SS subsections included)
whose tag line (the line after .TP) starts with an option names the options on its
tag line; its text runs to the next .TP, .SH, .SS or .PP.

Checked: every option of --help has a man entry and the reverse; every default
--help states appears in the man entry of that option (spaces ignored); the page's
.TH names VERSION.  Each problem is one line saying which option is missing where,
and the exit status is 1 when there is any.
"""
import re
import sys

OPT = re.compile(r'(?<![\w-])(--?[A-Za-z0-9][A-Za-z0-9-]*)')


def help_entries(text):
    """{option: entry text} from --help output, plus the options in file order."""
    entries, order, cur, indent = {}, [], None, 0
    for line in text.splitlines():
        m = re.match(r'^( {1,8})(-.*)$', line)
        if m:
            head = re.split(r'\s{2,}', m.group(2), maxsplit=1)
            names = [n for n in OPT.findall(head[0])]
            cur = {'names': names, 'text': head[1] if len(head) > 1 else ''}
            indent = len(m.group(1))
            for n in names:
                entries[n] = cur
                order.append(n)
            continue
        stripped = line.lstrip(' ')
        if cur and stripped and len(line) - len(stripped) > indent:
            cur['text'] += ' ' + stripped
        else:
            cur = None
    return entries, order


def roff_text(s):
    """Plain text of roff source lines: fonts, escapes and macro quoting removed."""
    out = []
    for line in s.splitlines():
        if line.startswith('.\\"'):
            continue
        m = re.match(r'^\.(B|I|BR|RB|BI|IB|IR|RI|SM|SB)\s+(.*)$', line)
        if m:
            args = re.findall(r'"([^"]*)"|(\S+)', m.group(2))
            line = ''.join(a or b for a, b in args)
        elif line.startswith('.'):
            continue
        line = re.sub(r'\\f(\(..|\[[^]]*\]|.)', '', line)
        line = line.replace('\\-', '-').replace('\\%', '').replace('\\&', '')
        line = line.replace('\\e', '\\').replace('\\ ', ' ').replace('\\(em', '-')
        out.append(line)
    return ' '.join(out)


def man_entries(src):
    """{option: entry text} from the OPTIONS section's .TP entries."""
    entries, order = {}, []
    lines = src.splitlines()
    in_opts, i = False, 0
    while i < len(lines):
        line = lines[i]
        if line.startswith('.SH'):
            in_opts = line.split(None, 1)[1].strip('"') == 'OPTIONS' if ' ' in line else False
        if in_opts and line.startswith('.TP') and i + 1 < len(lines):
            tag = roff_text(lines[i + 1])
            body, j = [], i + 2
            while j < len(lines) and not re.match(r'^\.(TP|SH|SS|PP|P|LP)\b', lines[j]):
                body.append(lines[j])
                j += 1
            if tag.startswith('-'):
                names = OPT.findall(re.split(r'\s', tag.replace(', ', ','), maxsplit=1)[0])
                text = roff_text('\n'.join(body))
                for n in names:
                    entries[n] = text
                    order.append(n)
            i = j
            continue
        i += 1
    return entries, order


def defaults(text):
    return re.findall(r'default: ([^)]*)\)', text) + re.findall(r'\[([^\]]*)\]', text)


def squash(s):
    return re.sub(r'\s+', '', s)


def main():
    prog, help_file, man_file, version = sys.argv[1:5]
    help_text = open(help_file, encoding='utf-8').read()
    src = open(man_file, encoding='utf-8').read()
    hel, horder = help_entries(help_text)
    man, morder = man_entries(src)
    problems = []
    if not horder:
        problems.append(f'{prog} --help: no option lines found (is the format still '
                        f'"  -x, --long ARG   text"?)')
    if not morder:
        problems.append(f'{man_file}: no .TP option entries under OPTIONS')
    for n in horder:
        if n not in man:
            problems.append(f'{n}: listed by `{prog} --help` but missing from {man_file} '
                            f'(add a .TP entry under OPTIONS with its default)')
    for n in morder:
        if n not in hel:
            problems.append(f'{n}: documented in {man_file} but not listed by '
                            f'`{prog} --help` (remove the entry, or add the option to --help)')
    for n in horder:
        if n not in man or hel[n]['names'][-1] != n:
            continue
        for d in defaults(hel[n]['text']):
            if squash(d) not in squash(man[n]):
                problems.append(f'{n}: `{prog} --help` gives the default "{d}", '
                                f'its entry in {man_file} does not')
    th = re.search(r'^\.TH\s.*$', src, re.M)
    if not th or version not in th.group(0):
        problems.append(f'{man_file}: .TH line does not name version {version} '
                        f'({th.group(0) if th else "no .TH"})')
    for p in problems:
        print(p)
    print(f'{prog}: {len(horder)} options in --help, {len(morder)} in {man_file}, '
          f'{len(problems)} problem(s)', file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
