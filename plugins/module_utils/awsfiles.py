# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The AWS shared credentials and config files: read, and edit one section at a time.

An edit rewrites only the lines of the section it changes; every other byte of the file
(comments, blank lines, order, spacing, other profiles, line endings) stays as it was.
A file is parsed the way botocore parses it (configparser.RawConfigParser over a file opened
with universal newlines: lines end with LF, CRLF or a bare CR); a file that botocore would
reject is reported with its path and line, and never written.
Writes hold an exclusive lock (a ``.lock`` file beside the file) around the whole
read-modify-write, and replace the file atomically: a temporary file in the same folder,
fsync, rename. A symbolic link is followed: its target is edited, in the target's folder,
and the link stays. A file without write permission (0400) is refused, not replaced.
Files are written 0600; a folder created for them is 0700; temporary files that a killed
writer left (they may hold secrets) are removed by the next write.
"""

from __future__ import annotations

import configparser
import contextlib
import fcntl
import io
import os
import re
import shlex
import stat
import tempfile
import time
from typing import Callable, Dict, Iterable, List, Optional, Tuple, Union

FILE_MODE = 0o600
DIR_MODE = 0o700
EDIT_ATTEMPTS = 20  # reads that must settle, and edits made again after another program changed the file
SETTLE_SECONDS = 0.005
_SECTION = re.compile(r"\[(?P<header>.+)\]")  # configparser's SECTCRE, matched on the stripped line
_OPTION = re.compile(r"(?P<key>.*?)\s*[=:]")  # configparser's OPTCRE, up to the delimiter
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")  # lines, each with its own ending, as universal newlines split them
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
    with a blank, is not what botocore reads back.
    """
    if not isinstance(name, str) or not name or name != name.strip() or _NOT_IN_NAMES.search(name):
        raise ValueError(f"{what} {name!r} is refused: a name must not be empty, start or end with a blank, "
                         "or contain '[', ']', a carriage return or a line feed")
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
    named = [s for s in ini.names() if profile_of_section(s) == profile]
    if named:
        return named[-1]
    if profile == "default":
        return profile
    return "profile " + (shlex.quote(profile) if re.search(r"[ \t]", profile) else profile)


def _classify(lines: List[str]) -> List[Tuple[str, Optional[str]]]:
    """Each line's kind (header, option, continuation, blank, comment) and name, as configparser sees it.

    Comments and blank lines neither end an option nor continue it; a line indented deeper than
    the option above it continues that option, even if it looks like a header.
    """
    kinds: List[Tuple[str, Optional[str]]] = []
    option_indent = None
    for line in lines:
        stripped = line.strip()
        if not stripped:
            kinds.append(("blank", None))
            continue
        if stripped[0] in "#;":
            kinds.append(("comment", None))
            continue
        level = len(line) - len(line.lstrip())
        if option_indent is not None and level > option_indent:
            kinds.append(("continuation", None))
            continue
        header = _SECTION.match(stripped)
        if header:
            kinds.append(("header", header.group("header")))
            option_indent = None
        else:
            kinds.append(("option", _OPTION.match(stripped).group("key").strip().lower()))
            option_indent = level
    return kinds


class _Section:
    """A section's raw lines: the header first (none for the text before the first header)."""

    def __init__(self, name: Optional[str], lines: List[str]) -> None:
        self.name = name
        self.lines = lines

    def entries(self) -> List[Tuple[Optional[str], List[str]]]:
        """The body as (option key, its lines with continuations) or (None, [a blank or comment line])."""
        body = self.lines[1:] if self.name is not None else self.lines
        entries: List[Tuple[Optional[str], List[str]]] = []
        for line, (kind, key) in zip(body, _classify(body)):
            if kind == "continuation":
                # Blank lines and comments between an option and its continuation belong to it.
                while entries[-1][0] is None:
                    entries[-2][1].extend(entries.pop()[1])
                entries[-1][1].append(line)
            else:
                entries.append((key if kind == "option" else None, [line]))
        return entries


class IniFile:
    """One AWS INI file's text, parsed; ``set`` and ``remove`` edit it in memory."""

    def __init__(self, text: str = "", path: str = "<text>") -> None:
        self.path = path
        self._parser = _validate(text, path)
        self._sections = _split(text)
        first_eol = _EOL.search(text)
        self._eol = first_eol.group() if first_eol else "\n"  # new lines end like the file's first line

    @property
    def text(self) -> str:
        return "".join(line for section in self._sections for line in section.lines)

    def names(self) -> List[str]:
        return [s.name for s in self._sections if s.name is not None]

    def get(self, name: str) -> Optional[Dict[str, str]]:
        """The section's options (keys lowercased, as botocore reads them), or None if there is no such section."""
        if not self._parser.has_section(name):
            return None
        return dict(self._parser.items(name, raw=True))

    def line_of(self, name: str) -> Optional[int]:
        """The 1-based line number of the section's header."""
        number = 1
        for section in self._sections:
            if section.name == name:
                return number
            number += len(section.lines)
        return None

    def set(self, name: str, values: Dict[str, Value], remove: Iterable[str] = ()) -> bool:
        """Set options of section ``name`` (added at the end if missing) and drop ``remove``; True if the text changed.

        Only the lines of that section change: a set option's line (and its continuation lines)
        is replaced in place, new options follow the section's last option, and the section's
        comments and blank lines stay.
        """
        check_name(name, "section")
        check_values(name, values)
        section = self._find(name)
        if section is None:
            if not values:
                return False
            section = self._append(name)
        wanted = {k.lower(): (k, v if isinstance(v, dict) else str(v)) for k, v in values.items()}
        dropped = {k.lower() for k in remove} - set(wanted)
        head = section.lines[:1] if section.name is not None else []
        body: List[str] = []
        insert_at = 0
        for key, lines in section.entries():
            if key in dropped:
                continue
            if key in wanted:
                spelled, value = wanted.pop(key)
                indent = lines[0][:len(lines[0]) - len(lines[0].lstrip())]  # the indentation decides what continues what
                lines = self._option_lines(indent, spelled, value)
            body.extend(lines)
            if key is not None:
                insert_at = len(body)
        if wanted:
            before = body[insert_at - 1] if insert_at else (head[0] if head else "")
            if before and not _ends_line(before):
                if insert_at:
                    body[insert_at - 1] += self._eol
                else:
                    head[0] += self._eol
            body[insert_at:insert_at] = [line for spelled, value in wanted.values() for line in self._option_lines("", spelled, value)]
        new_lines = head + body
        changed = new_lines != section.lines
        section.lines = new_lines
        self._parser = _validate(self.text, self.path)
        return changed

    def _option_lines(self, indent: str, key: str, value: Value) -> List[str]:
        """``key = value``, or for a nested value ``key =`` and its ``key = value`` lines indented four spaces more (as aws-cli)."""
        if not isinstance(value, dict):
            return [f"{indent}{key} = {value}{self._eol}"]
        return [f"{indent}{key} ={self._eol}"] + [f"{indent}    {k} = {v}{self._eol}" for k, v in value.items()]

    def remove(self, name: str) -> bool:
        """Remove section ``name`` with its lines; True if it was there."""
        check_name(name, "section")
        section = self._find(name)
        if section is None:
            return False
        self._sections.remove(section)
        self._parser = _validate(self.text, self.path)
        return True

    def _find(self, name: str) -> Optional[_Section]:
        return next((s for s in self._sections if s.name == name), None)

    def _append(self, name: str) -> _Section:
        """A new empty section at the end, after a blank line; the text before it is kept as a prefix."""
        if self._sections:
            tail = self._sections[-1].lines
            if tail and not _ends_line(tail[-1]):
                tail[-1] += self._eol
            if self.text.strip() and tail and tail[-1].strip():
                tail.append(self._eol)
        section = _Section(name, [f"[{name}]{self._eol}"])
        self._sections.append(section)
        return section


def _ends_line(line: str) -> bool:
    return line.endswith(("\n", "\r"))


def _split(text: str) -> List[_Section]:
    lines = _LINE.findall(text)
    sections = [_Section(None, [])]
    for line, (kind, name) in zip(lines, _classify(lines)):
        if kind == "header":
            sections.append(_Section(name, [line]))
        else:
            sections[-1].lines.append(line)
    if not sections[0].lines:
        sections.pop(0)
    return sections


def _validate(text: str, path: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    try:
        parser.read_file(io.StringIO(text, newline=None), source=path)  # universal newlines, as botocore's open()
    except configparser.MissingSectionHeaderError as e:
        raise FileError(path, "an option before any [section] header (AWS tools cannot read this file)", e.lineno)
    except configparser.ParsingError as e:
        # The line itself is not shown: it may be a pasted secret.
        raise FileError(path, "neither a [section] header, a key = value option, a comment nor an indented continuation "
                              "(AWS tools cannot read this file)", e.errors[0][0])
    except configparser.DuplicateSectionError as e:
        raise FileError(path, f"section [{e.section}] appears twice (AWS tools cannot read this file)", e.lineno)
    except configparser.DuplicateOptionError as e:
        raise FileError(path, f"option {e.option!r} appears twice in section [{e.section}] (AWS tools cannot read this file)", e.lineno)
    except configparser.Error as e:
        raise FileError(path, str(e))
    return parser


def _read_bytes(path: str) -> Optional[bytes]:
    """The file's bytes; None if it does not exist."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise FileError(path, f"cannot read: {e.strerror}")


def _parse(data: Optional[bytes], path: str) -> IniFile:
    try:
        return IniFile((data or b"").decode("utf-8"), path)
    except UnicodeDecodeError as e:
        raise FileError(path, f"not UTF-8 text (byte {e.start})")


def read(path: str) -> IniFile:
    """The file parsed; an empty file if it does not exist."""
    return _parse(_read_bytes(path), path)


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
    such file seen under the lock is stale.
    """
    folder, prefix = os.path.dirname(os.path.abspath(path)), _temporary_prefix(path)
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            if name.startswith(prefix) and name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, name))


def atomic_write(path: str, text: str, expected: Optional[bytes]) -> Tuple[bool, Optional[bytes]]:
    """Replace ``path`` with ``text``, mode 0600: a temporary file in the same folder, fsync, rename.

    Returns (written, other writer's bytes or None). The file is replaced only if it still holds
    ``expected`` (the bytes an edit started from; None for no file), compared right before the
    rename; otherwise (False, the file's bytes), and nothing is written. After the
    rename, the replaced file is watched a moment: a writer without a lock that opened it before
    the rename writes there, and (True, those bytes) tells that the new file lacks them.
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=".tmp", dir=folder)
    replaced = None
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), FILE_MODE)
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileNotFoundError):
            replaced = open(path, "rb")  # pylint: disable=consider-using-with
        current = replaced.read() if replaced else None
        if current != expected:
            os.unlink(temporary)
            return False, current
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
            if late != expected:
                return True, late
        return True, None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    finally:
        if replaced:
            replaced.close()


def update(path: str, edit: Callable[[IniFile], bool], check_mode: bool = False) -> Tuple[bool, str, str]:
    """Read ``path``, apply ``edit`` (which returns whether it changed anything) and write it back.

    The read, the edit and the write happen under the file's lock, so concurrent updates of
    different sections all survive. Writers that take no lock (the aws CLI) are not lost either:
    the file is read once it has settled, and replaced only if it still holds what was read;
    otherwise the edit is made again on the new content (``edit`` may run more than once).
    A symbolic link is followed (its target is what is locked, edited and replaced, so the link
    stays); a file without write permission is refused. In check mode nothing is created, locked
    or written. Returns (changed, text before, text after).
    """
    target = os.path.realpath(path)  # a dangling link's target is created where the link points
    if check_mode:
        ini = read(target)
        before = ini.text
        return bool(edit(ini)), before, ini.text
    try:
        with locked(target):
            data = expected = _settled(target, lambda: _read_bytes(target))
            for attempt in range(EDIT_ATTEMPTS):
                ini = _parse(data, path)
                before = ini.text
                if not edit(ini):
                    return False, before, ini.text
                if attempt == 0:
                    check_writable(path)
                    remove_stale_temporaries(target)
                written, other = atomic_write(target, ini.text, expected)
                if other is None:
                    return True, before, ini.text
                if written:  # another writer's change went to the file just replaced: edit its version, replace ours
                    data, expected = other, ini.text.encode("utf-8")
                else:  # changed before the rename: edit what is there now
                    data = expected = _settled(target, lambda: _read_bytes(target))
            raise FileError(path, f"another program changed the file during each of {EDIT_ATTEMPTS} attempts to edit it; "
                                  "check that it holds this edit")
    except OSError as e:
        raise FileError(path, f"cannot write: {e.strerror or e}")


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
