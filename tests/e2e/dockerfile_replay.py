"""Replaying a Dockerfile without a container engine (there is none in CI).

`parse` reads the instructions this repository's Dockerfile uses (ARG, FROM ... AS, ENV, WORKDIR,
COPY [--from], RUN, USER, EXPOSE, ENTRYPOINT). `Replay` runs them into a temporary root folder:

- every absolute path the Dockerfile owns (one whose first component is not the base image's,
  such as /src, /wheels, /opt, /tmp) is rewritten to the same path under the root, in RUN commands,
  ENV values, WORKDIR and COPY;
- the base image's Python is a virtualenv of the host's Debian python3.11 (world-readable, so a
  non-root user can run it), with pip, first on PATH as `python` and `pip`;
- a new stage starts from an empty root that keeps only what its `COPY --from` takes from the
  earlier stage, at the same path (a virtualenv is not relocatable, in an image or here);
- `run_entrypoint` runs ENTRYPOINT plus arguments as the USER's numeric ids (via setpriv), with the
  final ENV, in the WORKDIR, on a tree that user cannot write.

What this cannot show is the base image itself: that python:3.11-slim carries no compiler is the
image's documented content, not something replayed here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

# Top-level folders that belong to the base image; any other absolute path is the Dockerfile's.
BASE_IMAGE_DIRS = frozenset(
    {
        "bin",
        "boot",
        "dev",
        "etc",
        "lib",
        "lib64",
        "proc",
        "root",
        "run",
        "sbin",
        "sys",
        "usr",
        "var",
    }
)
_ABSOLUTE_PATH = re.compile(r"(?<![\w.$/-])/[A-Za-z0-9_.][A-Za-z0-9_./-]*")
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")


@dataclasses.dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    line: int


@dataclasses.dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = dataclasses.field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


@dataclasses.dataclass
class Dockerfile:
    args: dict[str, str]
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def entrypoint(self) -> list[str]:
        (instruction,) = self.final.all("ENTRYPOINT")
        value = json.loads(instruction.arguments)
        assert isinstance(value, list), "ENTRYPOINT must be in exec (JSON) form"
        return [str(part) for part in value]

    def exposed_ports(self) -> list[int]:
        ports = []
        for instruction in self.final.all("EXPOSE"):
            for port in instruction.arguments.split():
                ports.append(int(port.partition("/")[0]))
        return ports

    def user(self) -> tuple[int, int]:
        (instruction,) = self.final.all("USER")
        user, _, group = instruction.arguments.strip().partition(":")
        return int(user), int(group or user)


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1].strip())
            continue
        buffer.append(stripped)
        yield start, " ".join(part for part in buffer if part)
        buffer = []
    if buffer:
        raise ValueError(f"line {start}: the instruction never ends (trailing backslash)")


def parse(path: Path) -> Dockerfile:
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for number, line in _logical_lines(path.read_text()):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip()
        elif keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=_expand(words[0], args), name=name))
        elif not stages:
            raise ValueError(f"line {number}: {keyword} before the first FROM")
        else:
            stages[-1].instructions.append(Instruction(keyword, rest.strip(), number))
    return Dockerfile(args=args, stages=stages)


def _expand(text: str, variables: Mapping[str, str]) -> str:
    return _VARIABLE.sub(lambda m: variables.get(m.group(1) or m.group(2), ""), text)


def env_pairs(arguments: str) -> list[tuple[str, str]]:
    """`ENV a=1 b="two words"` as pairs (the key=value form only)."""
    pairs = []
    for word in shlex.split(arguments):
        key, sep, value = word.partition("=")
        if not sep:
            raise ValueError(f"ENV {arguments!r}: use the key=value form")
        pairs.append((key, value))
    return pairs


def dockerignore_excludes(patterns: Sequence[str], relative: str) -> bool:
    """Whether .dockerignore excludes `relative`: the last pattern matching it or a parent wins."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        regex = _glob_regex(pattern.lstrip("!").strip("/"))
        if any(regex.fullmatch(candidate) for candidate in candidates):
            excluded = not negated
    return excluded


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out += "(?:.*/)?"
            index += 3
        elif pattern.startswith("**", index):
            out += ".*"
            index += 2
        elif pattern[index] == "*":
            out += "[^/]*"
            index += 1
        elif pattern[index] == "?":
            out += "[^/]"
            index += 1
        else:
            out += re.escape(pattern[index])
            index += 1
    return re.compile(out)


class Replay:
    """The Dockerfile's stages run into `root`, with `context` as the build context."""

    def __init__(self, dockerfile: Dockerfile, *, context: Path, root: Path, base: Path) -> None:
        self.dockerfile = dockerfile
        self.context = context
        self.root = root
        self.base = base
        ignore = context / ".dockerignore"
        self.ignore = [
            line.strip()
            for line in (ignore.read_text().splitlines() if ignore.exists() else [])
            if line.strip() and not line.startswith("#")
        ]
        self.env: dict[str, str] = {}
        self.workdir = "/"
        self.log: list[str] = []

    # -- paths ---------------------------------------------------------------------------------

    def host(self, container_path: str) -> Path:
        return self.root / container_path.lstrip("/")

    def owned(self, container_path: str) -> bool:
        first = container_path.lstrip("/").split("/", 1)[0]
        return bool(first) and first not in BASE_IMAGE_DIRS

    def rewrite(self, text: str) -> str:
        """Absolute paths the Dockerfile owns, moved under the root."""
        return _ABSOLUTE_PATH.sub(
            lambda m: str(self.host(m.group(0))) if self.owned(m.group(0)) else m.group(0), text
        )

    # -- the base image ------------------------------------------------------------------------

    def environ(self) -> dict[str, str]:
        """The process environment: the base image's PATH, then ENV as the Dockerfile set it."""
        environ = {
            "PATH": f"{self.base / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")),
        }
        for key, value in self.env.items():
            # Rewrite the Dockerfile's own text, then expand: host paths are never rewritten.
            environ[key] = _expand(self.rewrite(value), environ)
        return environ

    # -- stages --------------------------------------------------------------------------------

    def build(self) -> None:
        previous: dict[str, Path] = {}
        for index, stage in enumerate(self.dockerfile.stages):
            kept = self._start_stage(stage, previous)
            for instruction in stage.instructions:
                self._execute(instruction, kept)
            name = stage.name or str(index)
            previous = {name: self.root}

    def _start_stage(self, stage: Stage, previous: Mapping[str, Path]) -> dict[str, Path]:
        """An empty root for the stage, but for the paths its COPY --from takes (kept aside)."""
        staging = self.root.with_name(self.root.name + "-staging")
        shutil.rmtree(staging, ignore_errors=True)
        kept: dict[str, Path] = {}
        for instruction in stage.all("COPY"):
            source_stage, sources, _ = self._copy_arguments(instruction)
            if source_stage is None:
                continue
            if source_stage not in previous:
                raise ValueError(f"line {instruction.line}: no earlier stage {source_stage}")
            for source in sources:
                held = staging / source.lstrip("/")
                held.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(self.host(source)), held)
                kept[source] = held
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)
        self.root.chmod(0o755)
        self.env = {}
        self.workdir = "/"
        return kept

    @staticmethod
    def _copy_arguments(instruction: Instruction) -> tuple[str | None, list[str], str]:
        words = shlex.split(instruction.arguments)
        source_stage = None
        while words and words[0].startswith("--"):
            flag, _, value = words.pop(0).partition("=")
            if flag == "--from":
                source_stage = value
            else:
                raise ValueError(f"line {instruction.line}: COPY {flag} is not replayed")
        return source_stage, words[:-1], words[-1]

    def _execute(self, instruction: Instruction, kept: Mapping[str, Path]) -> None:
        keyword, arguments = instruction.keyword, instruction.arguments
        self.log.append(f"{keyword} {arguments}")
        if keyword == "ENV":
            self.env.update(env_pairs(arguments))
        elif keyword == "WORKDIR":
            self.workdir = arguments if arguments.startswith("/") else f"{self.workdir}/{arguments}"
            self.host(self.workdir).mkdir(parents=True, exist_ok=True)
        elif keyword == "COPY":
            self._copy(instruction, kept)
        elif keyword == "RUN":
            self._run(instruction)
        elif keyword in ("USER", "EXPOSE", "ENTRYPOINT", "CMD", "LABEL"):
            pass  # metadata of the image, read by run_entrypoint and the tests
        else:
            raise ValueError(f"line {instruction.line}: {keyword} is not replayed")

    def _copy(self, instruction: Instruction, kept: Mapping[str, Path]) -> None:
        source_stage, sources, destination = self._copy_arguments(instruction)
        if not destination.startswith("/"):
            destination = f"{self.workdir.rstrip('/')}/{destination}"
        target = self.host(destination)
        if source_stage is not None:
            for source in sources:
                self.host(destination).parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(kept[source]), self.host(destination))
            return
        for source in sources:
            origin = self.context / source.rstrip("/")
            if origin.is_dir():
                # COPY dir/ dest/ copies the directory's contents into dest.
                self._copy_tree(origin, target, source.rstrip("/"))
            else:
                if dockerignore_excludes(self.ignore, source):
                    raise ValueError(f"line {instruction.line}: {source} is in .dockerignore")
                into = target / origin.name if destination.endswith("/") else target
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, into)

    def _copy_tree(self, origin: Path, target: Path, relative_root: str) -> None:
        for path in sorted(origin.rglob("*")):
            relative = f"{relative_root}/{path.relative_to(origin).as_posix()}"
            if dockerignore_excludes(self.ignore, relative) or not path.is_file():
                continue
            into = target / path.relative_to(origin)
            into.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, into)

    def _run(self, instruction: Instruction) -> None:
        command = self.rewrite(instruction.arguments)
        result = subprocess.run(
            ["/bin/sh", "-c", command],
            cwd=self.host(self.workdir),
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"line {instruction.line}: RUN {instruction.arguments}\n(replayed: {command})\n"
                f"exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )

    # -- the container -------------------------------------------------------------------------

    def seal(self) -> None:
        """The final root as a read-only filesystem for its user: no write bit anywhere, except
        on the WORKDIR when it is /tmp (the chart mounts an emptyDir there)."""
        for path in [self.root, *self.root.rglob("*")]:
            if path.is_symlink():
                continue
            mode = path.stat().st_mode
            path.chmod(stat.S_IMODE(mode) & ~0o222)
        scratch = self.host("/tmp")
        scratch.mkdir(exist_ok=True)
        scratch.chmod(0o1777)

    def run_entrypoint(
        self,
        arguments: Sequence[str],
        *,
        extra_env: Mapping[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """ENTRYPOINT + arguments as USER, with the final ENV, in the WORKDIR."""
        return subprocess.run(
            self.entrypoint_command(arguments),
            cwd=self.host(self.workdir),
            env=self.entrypoint_environ(extra_env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def entrypoint_command(self, arguments: Sequence[str]) -> list[str]:
        uid, gid = self.dockerfile.user()
        setpriv = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
        prefix = setpriv if os.geteuid() == 0 else []
        entrypoint = self.dockerfile.entrypoint()
        executable = shutil.which(entrypoint[0], path=self.entrypoint_environ()["PATH"])
        assert executable, f"{entrypoint[0]} is not on the image's PATH"
        return [*prefix, executable, *entrypoint[1:], *arguments]

    def entrypoint_environ(self, extra_env: Mapping[str, str] | None = None) -> dict[str, str]:
        environ = self.environ()
        environ.pop("PIP_CACHE_DIR", None)
        # Python's tempfile picks /tmp: the container's /tmp is the mounted emptyDir.
        environ["TMPDIR"] = str(self.host("/tmp"))
        environ.update(extra_env or {})
        return environ


def base_python(folder: Path) -> Path:
    """A stand-in for the base image's /usr/local: a virtualenv of Debian's python3.11 with pip."""
    interpreter = shutil.which("python3.11", path="/usr/bin") or "/usr/bin/python3.11"
    subprocess.run([interpreter, "-m", "venv", "--without-pip", str(folder)], check=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(folder / "bin" / "python"), "install",
         "--quiet", "pip"],
        check=True,
    )  # fmt: skip
    return folder
