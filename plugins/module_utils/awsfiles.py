# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The AWS shared credentials and config files: read, and edit one section at a time.

An edit rewrites only the lines of the section it changes; every other byte of the file
(comments, blank lines, order, spacing, other profiles, line endings) stays as it was.
A file is read the way botocore reads it (configparser.RawConfigParser over a file opened
with universal newlines: lines end with LF, CRLF or a bare CR), by a reader of our own that
keeps only the section headers, so that time and memory stay linear in the file's size; a
property test holds it equal to configparser on any text. A file that botocore would reject
is reported with its path and line, and never written.
Writes hold an exclusive lock (a ``.lock`` file beside the file) around the whole
read-modify-write, and replace the file atomically: a temporary file in the same folder,
fsync, rename. A symbolic link is followed: its target is edited, in the target's folder,
and the link stays. A file without write permission (0400) is refused, not replaced.
Files are written 0600; a folder created for them is 0700; temporary files that a killed
writer left (they may hold secrets) are removed by the next run that reads or writes the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shlex
import stat
import tempfile
import time
from array import array
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from ansible_collections.awssec.mfa.plugins.module_utils import keystore

FILE_MODE = 0o600
DIR_MODE = 0o700
EDIT_ATTEMPTS = 20  # reads that must settle, and edits made again after another program changed the file
SETTLE_SECONDS = 0.005
DEFAULT_SECTION = "DEFAULT"  # configparser's default section: its options are every section's, and it may repeat
_SECTION = re.compile(r"\[(?P<header>.+)\]")  # configparser's SECTCRE, matched on the stripped line
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")  # a line with its end, as universal newlines split them
_ODD_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")  # str.splitlines() ends lines there too
_CHUNK = 1 << 20  # characters split into lines at a time
_EOL = re.compile(r"\r\n|\r|\n")
_NOT_IN_NAMES = re.compile(r"[\[\]\r\n]")


class FileError(Exception):
    """A file that cannot be read, parsed or written; the message names the file (and line)."""

    def __init__(self, path: str, message: str, line: Optional[int] = None) -> None:
        self.path = path
        self.line = line
        where = f"{path} line {line}" if line else path
        super().__init__(f"{where}: {message}")


def default_paths(environ=None) -> Tuple[str, str]:
    """(credentials file, config file), from AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE or ~/.aws."""
    environ = os.environ if environ is None else environ
    credentials = environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    config = environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    return os.path.expanduser(credentials), os.path.expanduser(config)


def check_name(name, what: str = "profile name") -> str:
    """``name`` itself when it can name a profile or section; ValueError naming it otherwise.

    '[', ']', CR or LF could close the section header and write options or other sections of
    the caller's choosing (section-name injection); an empty name, or one that starts or ends
    with a blank, is not what botocore reads back. ``DEFAULT`` is configparser's default section:
    botocore gives its options to every profile (a session token written there would sign every
    profile's requests), so it is never a profile, and nothing is written into it.
    """
    if not isinstance(name, str) or not name or name != name.strip() or _NOT_IN_NAMES.search(name):
        raise ValueError(f"{what} {name!r} is refused: a name must not be empty, start or end with a blank, "
                         "or contain '[', ']', a carriage return or a line feed")
    if name == DEFAULT_SECTION:
        raise ValueError(f"{what} {name!r} is refused: botocore reads these files with configparser, which gives the "
                         "options of a [DEFAULT] section to every other section (every profile)")
    return name


Value = Union[str, Dict[str, str]]  # a dict is a nested option (s3 = / signature_version = s3v4), as botocore reads them


def check_values(section: str, values: Dict[str, Value]) -> None:
    """ValueError naming the first option that cannot be written: keys are words, values one line, nested one level."""
    for key, value in values.items():
        nested = value.items() if isinstance(value, dict) else ()
        if (not re.fullmatch(r"[A-Za-z0-9_.-]+", key) or re.search(r"[\r\n]", str(value) if not nested else "")
                or any(not re.fullmatch(r"[A-Za-z0-9_.-]+", str(k)) or isinstance(v, (dict, list)) or re.search(r"[\r\n]", str(v))
                       for k, v in nested)):
            raise ValueError(f"cannot write option {key!r} of section [{section}]: keys are words, values one line, "
                             "and a nested value one level of key = value")


def profile_of_section(section: str) -> Optional[str]:
    """The profile that a config file's section is to botocore: [default], [profile NAME], [profile "NAME"], [profile 'A B']."""
    if section == "default":
        return section
    if not section.startswith("profile"):
        return None
    try:
        parts = shlex.split(section)
    except ValueError:
        return None
    return parts[1] if len(parts) == 2 else None


def config_section(ini: "IniFile", profile: str) -> str:
    """The config file's section for ``profile``: the one botocore reads (the last that names it), else the one aws-cli writes.

    aws-cli quotes a name with blanks (``[profile 'team a']``); botocore ignores ``[profile team a]``.
    """
    named = ini.profile_sections().get(profile)
    if named:
        return named
    if profile == "default":
        return profile
    return "profile " + (shlex.quote(profile) if re.search(r"[ \t]", profile) else profile)


def _split(text: str, start: int, end: int) -> Iterator[str]:
    """The lines of ``text[start:end]``, each with its end, as universal newlines split them (LF, CRLF, a bare CR).

    ``str.splitlines`` does that fast, a chunk at a time, unless the text holds one of the other
    characters it also ends lines at (form feed, vertical tab, U+2028 ...): then a regular expression does.
    """
    if _ODD_BREAKS.search(text, start, end):
        yield from _LINE.findall(text, start, end)
        return
    while start < end:
        stop = end
        if start + _CHUNK < end:
            line_end = _EOL.search(text, start + _CHUNK, end)
            stop = line_end.end() if line_end else end
        yield from text[start:stop].splitlines(True)
        start = stop


def _delimiter(stripped: str) -> int:
    """Where an option line's key ends: its first '=' or ':' (configparser's OPTCRE), -1 if none."""
    equals, colon = stripped.find("="), stripped.find(":")
    return equals if colon < 0 or 0 <= equals < colon else colon


def _lines(text: str, start: int = 0, end: Optional[int] = None) -> Iterator[Tuple[str, int, Optional[str], str]]:
    """Each line of ``text[start:end]`` as configparser reads it: (kind, offset, name, the line stripped).

    Kinds: ``header`` (name: the section), ``option`` (name: the key lowercased, "" when the line
    starts with its delimiter), ``continuation``, ``blank``, ``comment``, ``error`` (neither header
    nor option). Comments and blank lines neither end an option nor continue it; a line indented
    deeper than the option above it continues that option, even if it looks like a header. This is
    RawConfigParser._read's walk, line by line, without keeping the lines.
    """
    end = len(text) if end is None else end
    option = None  # the option a deeper-indented line continues: configparser's optname
    indent_level = 0
    for line in _split(text, start, end):
        offset = start
        start += len(line)
        stripped = line.strip()
        if not stripped:
            yield "blank", offset, None, stripped
        elif stripped[0] in "#;":
            yield "comment", offset, None, stripped
        else:
            indent = line.find(stripped[0])
            if option and indent > indent_level:
                yield "continuation", offset, None, stripped
                continue
            indent_level = indent
            header = _SECTION.match(stripped) if stripped[0] == "[" else None
            if header:
                option = None
                yield "header", offset, header.group("header"), stripped
                continue
            delimiter = _delimiter(stripped)
            if delimiter < 0:
                yield "error", offset, None, stripped  # configparser keeps the option before it: a deeper line still continues that
                continue
            option = stripped[:delimiter].rstrip().lower()
            yield "option", offset, option, stripped


def _scan(text: str, path: str, start: int = 0, end: Optional[int] = None) -> Tuple[List[str], "array[int]"]:
    """(header names, header offsets) of ``text[start:end]``; FileError where configparser would raise.

    One pass, keeping only the headers: values are read when asked for (``_values``). The errors
    are configparser's, in its order: a missing header, a repeated section or option at once
    (DEFAULT may repeat, its options may not), a line that is none of these at the end, the first one.
    """
    names: List[str] = []
    starts = array("q")
    seen: set = set()
    default_options: set = set()
    options = default_options
    bad_line = None
    nested = None  # (the option, whether its value is empty so far) that continuation lines extend
    bad_nested: Dict[Tuple[bool, str], int] = {}  # (in [DEFAULT], option): its first nested line without '='
    for number, (kind, offset, name, stripped) in enumerate(_lines(text, start, end), 1):
        if kind == "continuation" and nested and nested[1] and any("=" not in part for part in stripped.splitlines() if part.strip()):
            bad_nested.setdefault(nested[0], number)  # botocore splits the value with str.splitlines: at a form feed too
        if kind == "header":
            if name in seen and name != DEFAULT_SECTION:
                raise FileError(path, f"section [{name}] appears twice (AWS tools cannot read this file)", number)
            seen.add(name)
            names.append(name)
            starts.append(offset)
            options = default_options if name == DEFAULT_SECTION else set()
        elif kind in ("option", "error"):
            if not names:
                raise FileError(path, "an option before any [section] header (AWS tools cannot read this file)", number)
            if kind == "error" or not name:
                bad_line = bad_line or number
            if kind == "option":
                if name in options:
                    raise FileError(path, f"option {name!r} appears twice in section [{names[-1]}] (AWS tools cannot read this file)",
                                    number)
                options.add(name)
                nested = ((options is default_options, name), not stripped[_delimiter(stripped) + 1:].strip())
    if bad_line:
        # The line itself is not shown: it may be a pasted secret.
        raise FileError(path, "neither a [section] header, a key = value option, a comment nor an indented continuation "
                              "(AWS tools cannot read this file)", bad_line)
    bad = _refused_nested(text, start, end, bad_nested)
    if bad:
        raise FileError(path, f"option {bad[0]!r} holds a nested value (an empty value, then indented lines) with a line that is "
                              "not key = value (AWS tools cannot read this file)", bad[1])
    return names, starts


def _refused_nested(text: str, start: int, end: Optional[int], bad: Dict[Tuple[bool, str], int]) -> Optional[Tuple[str, int]]:
    """(option, line) of the first nested value botocore's ``_parse_nested`` refuses, or None.

    botocore parses every option of every section whose value starts with a line break; an
    option of [DEFAULT] is every section's, except in sections that have their own option of
    that name (and not at all when [DEFAULT] is the only section).
    """
    if not bad:
        return None
    own = sorted((line, option) for (in_default, option), line in bad.items() if not in_default)
    if own:
        return own[0][1], own[0][0]
    lacking = set()
    options: Optional[set] = None
    for kind, dummy, name, dummy in _lines(text, start, end):
        if kind == "header":
            if options is not None:
                lacking |= {option for (dummy, option) in bad if option not in options}
            options = None if name == DEFAULT_SECTION else set()
        elif kind == "option" and options is not None:
            options.add(name)
    if options is not None:
        lacking |= {option for (dummy, option) in bad if option not in options}
    refused = sorted((line, option) for (dummy, option), line in bad.items() if option in lacking)
    return (refused[0][1], refused[0][0]) if refused else None


def _values(text: str, start: int, end: int) -> Dict[str, str]:
    """The options of the section at ``text[start:end]`` as configparser joins them (continuations on new lines)."""
    values: Dict[str, List[str]] = {}
    option = None
    for kind, dummy, name, stripped in _lines(text, start, end):
        if kind == "option":
            option = name
            values[name] = [stripped[_delimiter(stripped) + 1:].strip()]
        elif kind in ("continuation", "blank") and option:
            values[option].append(stripped)
    return {name: "\n".join(lines).rstrip() for name, lines in values.items()}


def _edit_section(section: str, values: Dict[str, Value], remove: Iterable[str], eol: str) -> str:
    """The section's text (its header line first) with ``values`` set and ``remove`` dropped.

    A set option's line (and its continuation lines) is replaced in place, keeping its
    indentation; new options follow the section's last option, indented like it; the section's
    comments and blank lines stay. Blank lines and comments between an option and its
    continuation belong to that option.
    """
    kinds = list(_lines(section))
    lines = list(_split(section, 0, len(section)))
    head, body_lines = lines[:1], lines[1:]
    entries: List[Tuple[Optional[str], List[str]]] = []
    for line, (kind, dummy, key, dummy) in zip(body_lines, kinds[1:]):
        if kind == "continuation":
            while entries[-1][0] is None:
                entries[-2][1].extend(entries.pop()[1])
            entries[-1][1].append(line)
        else:
            entries.append((key if kind == "option" else None, [line]))
    wanted = {k.lower(): (k, v if isinstance(v, dict) else str(v)) for k, v in values.items()}
    dropped = {k.lower() for k in remove} - set(wanted)
    body: List[str] = []
    insert_at, indent = 0, ""
    for key, option_lines in entries:
        if key in dropped:
            continue
        if key is not None:
            first = option_lines[0]
            indent = first[:len(first) - len(first.lstrip())]  # the indentation decides what continues what
        if key in wanted:
            spelled, value = wanted.pop(key)
            option_lines = _merged_nested(option_lines, value, eol) or _option_lines(indent, spelled, value, eol)
        body.extend(option_lines)
        if key is not None:
            insert_at = len(body)
    if wanted:
        before = body[insert_at - 1] if insert_at else head[0]
        if not _ends_line(before):
            if insert_at:
                body[insert_at - 1] += eol
            else:
                head[0] += eol
        body[insert_at:insert_at] = [line for spelled, value in wanted.values() for line in _option_lines(indent, spelled, value, eol)]
    return "".join(head + body)


def _option_lines(indent: str, key: str, value: Value, eol: str) -> List[str]:
    """``key = value``, or for a nested value ``key =`` and its ``key = value`` lines indented four spaces more (as aws-cli)."""
    if not isinstance(value, dict):
        return [f"{indent}{key} = {value}{eol}"]
    return [f"{indent}{key} ={eol}"] + [f"{indent}    {k} = {v}{eol}" for k, v in value.items()]


def _merged_nested(option_lines: List[str], value: Value, eol: str) -> Optional[List[str]]:
    """An existing nested option's lines with the sub-keys of ``value`` set, as ``aws configure set`` merges them; None
    unless both are nested (then the option is written anew).

    A sub-key's line is replaced in place, keeping its indentation; new sub-keys follow the last
    one, indented like it; the others, and comments among them, stay. Sub-keys are compared as
    botocore reads them: the text before the line's first '=', stripped, case kept.
    """
    first = option_lines[0].strip()
    if not isinstance(value, dict) or len(option_lines) < 2 or first[_delimiter(first) + 1:].strip():
        return None
    wanted = {str(k): v for k, v in value.items()}
    lines = [option_lines[0]]
    for line in option_lines[1:]:
        stripped = line.strip()
        sub_key = stripped.split("=", 1)[0].strip() if "=" in stripped and stripped[0] not in "#;" else None
        if sub_key in wanted:  # every line of it: botocore reads the last one
            ending = line[len(line.rstrip("\r\n")):] or eol
            line = f"{line[:len(line) - len(line.lstrip())]}{sub_key} = {wanted[sub_key]}{ending}"
        lines.append(line)
    present = {line.strip().split("=", 1)[0].strip() for line in lines[1:] if "=" in line}
    wanted = {k: v for k, v in wanted.items() if k not in present}
    if wanted:
        last = lines[-1]
        if not _ends_line(last):
            lines[-1] = last = last + eol
        indent = last[:len(last) - len(last.lstrip())]
        lines.extend(f"{indent}{k} = {v}{eol}" for k, v in wanted.items())
    return lines


def _ends_line(line: str) -> bool:
    return line.endswith(("\n", "\r"))


class IniFile:
    """One AWS INI file's text, checked as botocore reads it; ``set`` and ``remove`` edit it in memory.

    Time and memory are linear in the file's size: the text is kept whole, with the names and
    offsets of its section headers; a section's values are read when asked for; an edit splices
    the section's new text in and reads again only the sections next to it (what precedes a
    header never changes how the lines after it read).
    """

    def __init__(self, text: str = "", path: str = "<text>", source: "Fingerprint" = None) -> None:
        self.path = path
        self.source = source  # the fingerprint of the bytes it was read from, until it is edited (see ``update``)
        first_eol = _EOL.search(text)
        self._eol = first_eol.group() if first_eol else "\n"  # new lines end like the file's first line
        self._text = text
        self._names, self._starts = _scan(text, path)
        self._index: Dict[str, int] = {}
        self._indexed()

    def _indexed(self) -> None:
        self._index.clear()
        for number, name in enumerate(self._names):
            self._index.setdefault(name, number)  # [DEFAULT] may repeat: the first one is edited
        self._forget_derived()

    def _forget_derived(self) -> None:
        """Drop what is derived from the sections, read again when asked for: [DEFAULT]'s values, the profiles' sections."""
        self._defaults: Optional[Dict[str, str]] = None
        self._profiles: Optional[Dict[str, str]] = None

    @property
    def text(self) -> str:
        return self._text

    def names(self) -> List[str]:
        return list(self._names)

    def _span(self, number: int) -> Tuple[int, int]:
        following = number + 1
        return self._starts[number], self._starts[following] if following < len(self._starts) else len(self._text)

    def profile_sections(self) -> Dict[str, str]:
        """{profile: its section} as botocore names them in a config file (the last section that names a profile wins)."""
        if self._profiles is None:
            self._profiles = {}
            for section in self._names:
                profile = profile_of_section(section)
                if profile is not None:
                    self._profiles[profile] = section
        return self._profiles

    def get(self, name: str) -> Optional[Dict[str, str]]:
        """The section's options (keys lowercased, as botocore reads them, with [DEFAULT]'s), or None if there is no such section."""
        number = self._index.get(name)
        if number is None or name == DEFAULT_SECTION:
            return None
        if self._defaults is None:
            self._defaults = {}
            for other, section in enumerate(self._names):
                if section == DEFAULT_SECTION:
                    self._defaults.update(_values(self._text, *self._span(other)))
        return {**self._defaults, **_values(self._text, *self._span(number))}

    def set(self, name: str, values: Dict[str, Value], remove: Iterable[str] = ()) -> bool:
        """Set options of section ``name`` (added at the end if missing) and drop ``remove``; True if the text changed.

        Only the lines of that section change (see ``_edit_section``).
        """
        check_name(name, "section")
        check_values(name, values)
        number = self._index.get(name)
        if number is None:
            if not values:
                return False
            end = len(self._text)
            self._splice(len(self._names), end, end, _edit_section(f"[{name}]{self._eol}", values, remove, self._eol), name,
                         lead=self._separator())
            return True
        start, end = self._span(number)
        section = self._text[start:end]
        edited = _edit_section(section, values, remove, self._eol)
        if edited == section:
            return False
        self._splice(number, start, end, edited, name)
        return True

    def remove(self, name: str) -> bool:
        """Remove section ``name`` with its lines; True if it was there."""
        check_name(name, "section")
        number = self._index.get(name)
        if number is None:
            return False
        self._splice(number, *self._span(number), "", None)
        return True

    def _separator(self) -> str:
        """What goes between the file's last line and a new section: the line's end if missing, and a blank line."""
        text = self._text
        if not text:
            return ""
        last_end = len(text) - (2 if text.endswith("\r\n") else 1 if _ends_line(text) else 0)
        last_start = max(text.rfind("\n", 0, last_end), text.rfind("\r", 0, last_end)) + 1
        separator = "" if last_end < len(text) else self._eol
        return separator + self._eol if text[last_start:last_end].strip() else separator

    def _splice(self, number: int, start: int, end: int, new: str, name: Optional[str], lead: str = "") -> None:
        """Put ``lead`` and ``new`` (section ``name``, or nothing) in place of ``text[start:end]`` (section ``number``, or the end).

        FileError, and nothing changed, unless the sections around it still read as before: the
        section before it, the new one, and the header of the one after it, which a line indented
        deeper above it could turn into a continuation. In a file with a [DEFAULT] section, the whole
        file is read again (botocore checks a nested option of [DEFAULT] in each section that lacks
        it). [DEFAULT] itself is never edited: see ``check_name``.
        """
        names, starts = self._names, self._starts
        text = "".join((self._text[:start], lead, new, self._text[end:]))
        shift = len(lead) + len(new) - (end - start)
        following = number + 1 if end > start else number  # the section after the replaced one
        if DEFAULT_SECTION in self._index:  # its nested options are checked for every section that lacks them: read it all
            window, expected = (0, len(text)), names[:number] + ([name] if name else []) + names[following:]
        else:
            window_end = len(text)
            if following < len(names):
                header_end = _EOL.search(text, starts[following] + shift)
                window_end = header_end.end() if header_end else window_end
            window = (starts[number - 1] if number else 0, window_end)
            expected = names[max(number - 1, 0):number] + ([name] if name else []) + names[following:following + 1]
        try:
            found = _scan(text, self.path, *window)[0]
        except FileError:
            found = None
        if found != expected:
            raise FileError(self.path, "this edit would change how the sections next to it are read: nothing was changed")
        moved = array("q", (offset + shift for offset in starts[following:]))
        if name is None:
            del names[number]
            starts[number:] = moved
            self._indexed()
        else:
            names[number:following] = [name]
            starts[number:] = array("q", [start + len(lead)]) + moved
            self._index.setdefault(name, number)
            self._forget_derived()
        self._text = text
        self.source = None


def _read_bytes(path: str) -> Optional[bytes]:
    """The file's bytes; None if it does not exist."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise FileError(path, f"cannot read: {e.strerror}") from e


def _decode(data: Optional[bytes], path: str) -> str:
    try:
        return (data or b"").decode("utf-8")
    except UnicodeDecodeError as e:
        raise FileError(path, f"not UTF-8 text (byte {e.start})") from e


def read(path: str) -> IniFile:
    """The file parsed; an empty file if it does not exist."""
    data = _read_bytes(path)
    return IniFile(_decode(data, path), path, _fingerprint(data))


def _settled(path: str, read_now: Callable[[], Optional[bytes]]) -> Optional[bytes]:
    """What ``read_now()`` returns once two reads a moment apart agree.

    Other writers (the aws CLI) truncate and rewrite the file in place, without a lock: a read in
    the middle of that sees part of the file, which must never be edited and written back.
    """
    data = read_now()
    for dummy in range(EDIT_ATTEMPTS):
        time.sleep(SETTLE_SECONDS)
        again = read_now()
        if again == data:
            return data
        data = again
    raise FileError(path, f"another program kept changing the file ({EDIT_ATTEMPTS} reads in a row differed): nothing was written")


def ensure_dir(path: str) -> None:
    """Create the folder of ``path`` (0700) when it is missing."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        os.makedirs(folder, mode=DIR_MODE, exist_ok=True)
        os.chmod(folder, DIR_MODE)


@contextlib.contextmanager
def locked(path: str):
    """Hold an exclusive lock for ``path`` (on ``path.lock``, which is never replaced)."""
    ensure_dir(path)
    fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _temporary_prefix(path: str) -> str:
    return f".{os.path.basename(path)}."


def remove_stale_temporaries(path: str) -> None:
    """Remove the temporary files of ``path`` that a killed writer left; only call it under the file's lock.

    They may hold a new secret. A writer of this module that is alive holds the lock, so any
    such file seen under the lock is stale. Only names like those ``tempfile.mkstemp`` gives them are removed.
    """
    folder = os.path.dirname(os.path.abspath(path))
    ours = re.compile(re.escape(_temporary_prefix(path)) + r"[a-z0-9_]+\.tmp")
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            if ours.fullmatch(name):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, name))


def sweep(path: str) -> None:
    """Remove the temporary files a killed writer of ``path`` left, unless a writer holds the lock now (then they are its).

    For runs that read without writing (check mode, a session still valid, an edit that changes
    nothing): the lock is tried, never waited for, and no file is created.
    """
    target = os.path.realpath(path)
    try:
        fd = os.open(target + ".lock", os.O_RDWR)
    except OSError:
        return  # no writer of this module has ever locked it: no temporary file of ours
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        remove_stale_temporaries(target)
    except OSError:
        pass  # a writer is at work: its temporary file is not stale
    finally:
        os.close(fd)


Fingerprint = Optional[Tuple[int, bytes]]  # a file's size and digest; None for no file


def _fingerprint(data: Optional[bytes]) -> Fingerprint:
    return None if data is None else (len(data), hashlib.blake2b(data, digest_size=32).digest())


def atomic_write(path: str, text: str, expected: Fingerprint) -> Tuple[bool, Optional[bytes]]:
    """Replace ``path`` with ``text``, mode 0600: a temporary file in the same folder, fsync, rename.

    Returns (written, other writer's bytes or None). The file is replaced only if it still holds
    what the edit started from (``expected``, a ``_fingerprint``), compared right before the
    rename; otherwise (False, the file's bytes), and nothing is written. After the rename, the
    replaced file is watched a moment: a writer without a lock that opened it before the rename
    writes there, and (True, those bytes) tells that the new file lacks them.
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=".tmp", dir=folder)
    replaced = None
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), FILE_MODE)
            for start in range(0, len(text), _CHUNK):  # no second copy of a big file in memory
                f.write(text[start:start + _CHUNK].encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileNotFoundError):
            replaced = open(path, "rb")  # pylint: disable=consider-using-with
        current = replaced.read() if replaced else None
        if _fingerprint(current) != expected:
            os.unlink(temporary)
            return False, current
        current = None
        os.replace(temporary, path)
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        if replaced:
            time.sleep(SETTLE_SECONDS)

            def replaced_now():
                replaced.seek(0)
                return replaced.read()

            late = _settled(path, replaced_now)
            if _fingerprint(late) != expected:
                return True, late
        return True, None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    finally:
        if replaced:
            replaced.close()


def update(path: str, edit: Callable[[IniFile], bool], check_mode: bool = False, parsed: Optional[IniFile] = None) -> bool:
    """Read ``path``, apply ``edit`` (which returns whether it changed anything) and write it back; True if it changed.

    ``parsed``, the file as ``read`` returned it a moment ago, is edited (in place) instead of parsing the file
    again when the file still holds the same bytes: a login reads its big credentials file once.

    The read, the edit and the write happen under the file's lock, so concurrent updates of
    different sections all survive. Writers that take no lock (the aws CLI) are not lost either:
    the file is read once it has settled, and replaced only if it still holds what was read;
    otherwise the edit is made again on the new content (``edit`` may run more than once).
    A symbolic link is followed (its target is what is locked, edited and replaced, so the link
    stays); a file without write permission is refused. In check mode nothing is created or written.
    Either way, temporary files a killed writer left are removed (``sweep``): they may hold a secret.
    Time and memory are linear in the file's size (about 2 s and 250 MB for 50 MB).
    """
    target = os.path.realpath(path)  # a dangling link's target is created where the link points
    if check_mode:
        sweep(target)
        return bool(edit(read(target)))
    try:
        with locked(target):
            remove_stale_temporaries(target)
            data = _settled(target, lambda: _read_bytes(target))
            expected = _fingerprint(data)
            for attempt in range(EDIT_ATTEMPTS):
                if attempt == 0 and expected is not None and parsed is not None and parsed.source == expected:
                    ini, data = parsed, None
                else:
                    text, data = _decode(data, path), None  # the text alone stays in memory
                    ini, text = IniFile(text, path), None
                if not edit(ini):
                    return False
                if attempt == 0:
                    check_writable(path)
                written, data = atomic_write(target, ini.text, expected)
                if data is None:
                    return True
                if written:  # another writer's change went to the file just replaced: edit its version, then replace ours
                    expected = _fingerprint(ini.text.encode("utf-8"))
                else:  # changed before the rename: edit what is there now
                    data = _settled(target, lambda: _read_bytes(target))
                    expected = _fingerprint(data)
            raise FileError(path, f"another program changed the file during each of {EDIT_ATTEMPTS} attempts to edit it; "
                                  "check that it holds this edit")
    except OSError as e:
        raise FileError(path, f"cannot write: {e.strerror or e}") from e


def check_writable(path: str) -> None:
    """FileError when the file (or a link's target) exists without write permission for its owner (such as 0400).

    Such a file is the user's statement that it must not change: it is kept, not replaced.
    """
    target = os.path.realpath(path)
    with contextlib.suppress(FileNotFoundError):
        if not os.stat(target).st_mode & stat.S_IWUSR:
            shown = path if target == os.path.abspath(path) else f"{path} (-> {target})"
            raise FileError(shown, f"the file is read-only (mode {stat.S_IMODE(os.stat(target).st_mode):04o}): "
                                   "nothing was written; make it writable (chmod u+w) to let it be edited")


def check_replaceable(path: str) -> None:
    """FileError unless ``path`` can be written as ``update`` writes it: the file writable (``check_writable``), and a
    temporary file can be created in its folder and renamed there (a folder the user cannot write, 0500, cannot).

    For callers that must know before they spend something that cannot be had twice (an MFA code).
    A missing folder is checked where it would be created.
    """
    check_writable(path)
    folder = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(folder):
        parent = folder
        while not os.path.isdir(parent) and os.path.dirname(parent) != parent:
            parent = os.path.dirname(parent)
        if not os.access(parent, os.W_OK | os.X_OK):
            raise FileError(path, f"its folder does not exist and cannot be created in {parent}: nothing was written")
        return
    try:
        made = []
        for dummy in range(2):  # a file, and a name to rename it to: both named as a writer's temporary files are
            fd, name = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=".tmp", dir=folder)
            os.close(fd)
            made.append(name)
        os.replace(*made)
        os.unlink(made[1])
    except OSError as e:
        for name in made:
            with contextlib.suppress(OSError):
                os.unlink(name)
        raise FileError(path, f"a file cannot be created and renamed in its folder {folder} ({e.strerror or e}): nothing was written") from e


# --- one profile, as the aws_profile module sets it ----------------------------------------------

SECRET_OPTIONS = ("aws_secret_access_key", "aws_session_token", "aws_security_token")


def masked(ini: IniFile, section: str) -> str:
    """The section as a diff shows it, secrets hidden."""
    values = ini.get(section)
    if values is None:
        return ""
    shown = {k: "********" if k in SECRET_OPTIONS else v.replace("\n", "\n    ") for k, v in values.items()}  # nested: indented
    return f"[{section}]\n" + "".join(f"{k} = {v}\n" for k, v in shown.items())


def set_profile(path: Optional[str], file: str, name: str, values: Dict, remove: List[str], state: str, check_mode: bool,
                long_term_store: str = "file", store=None) -> Dict:
    """Set (``state`` present: ``values`` added or replaced, the ``remove`` options dropped) or remove profile ``name`` in
    the shared ``file`` (credentials or config; ``path``: where, default the AWS CLI's). The aws_profile module's result,
    diff included; ValueError or FileError, before anything is written, for a bad name or value or a file in the way.

    With ``long_term_store`` keyring (credentials file only) the key pair goes to the OS keyring (keystore.py; ``store``,
    else the keyring library's backend, which must be usable before anything is done) and the section keeps the other
    values and the marker; ``state`` migrated moves the section's key pair from the file into the keyring (kept there and
    read back before the file loses it). Every byte outside the section stays as it was."""
    credentials_path, config_path = default_paths()
    path = path or (credentials_path if file == "credentials" else config_path)
    values = {str(k): v if isinstance(v, dict) else "" if v is None else str(v) for k, v in values.items()}
    # before update(), which locks (creating FILE.lock): a refused call leaves nothing behind
    check_name(name)
    check_values(name, values)
    to_keyring = state == "migrated" or (long_term_store == "keyring" and state == "present")
    pair = None
    if to_keyring:
        if file != "credentials":
            raise ValueError("long_term_store keyring and state migrated keep a long-term key of the credentials file (file=credentials)")
        given = [k for k in keystore.KEY_OPTIONS if k in values]
        if given and len(given) < 2:
            raise ValueError("long_term_store keyring: give aws_access_key_id and aws_secret_access_key together")
        pair = (values.pop("aws_access_key_id"), values.pop("aws_secret_access_key")) if given else None
        try:
            store = store or keystore.backend()
        except keystore.KeystoreError as e:
            raise keystore.KeystoreError(f"long_term_store keyring: {e}") from e
    seen = {"keyring_changed": False}

    def edit(ini):
        seen["section"] = section = config_section(ini, name) if file == "config" else name
        seen["before"] = masked(ini, section)
        if state == "absent":
            changed = ini.remove(section)
        elif to_keyring:
            held = ini.get(section) or {}
            in_file = (held["aws_access_key_id"].strip(), held["aws_secret_access_key"].strip()) \
                if held.get("aws_access_key_id") and held.get("aws_secret_access_key") else None
            keys = pair or in_file
            if keys is None and held.get(keystore.MARKER) != "keyring":
                raise ValueError(f"[{section}] of {path} has no aws_access_key_id and aws_secret_access_key to keep in the keyring")
            if keys is not None:
                seen["keyring_changed"] = keystore.load(store, section) != keys
                if not check_mode:
                    keystore.save(store, section, *keys)  # kept and read back before the file loses them
            changed = ini.set(section, dict(values, **{keystore.MARKER: "keyring"}), list(remove) + [k for k in keystore.KEY_OPTIONS if k in held])
        else:
            changed = ini.set(section, values, remove)
        seen["after"] = masked(ini, section)
        return changed

    changed = update(path, edit, check_mode)
    header = f"{path} [{seen['section']}]"
    result = dict(changed=changed or seen["keyring_changed"], path=path, section=seen["section"], option_names=sorted(values),
                  diff={"before": seen["before"], "after": seen["after"], "before_header": header, "after_header": header})
    if to_keyring:
        result["keyring"] = {"service": keystore.SERVICE, "username": seen["section"], "changed": seen["keyring_changed"]}
    return result
