"""Run the shell examples of a Markdown document, in order, the way a reader pastes them.

The conventions a document follows (README.md says them to its readers too):

- Every fenced block names its language. ` ```sh ` blocks are run; ` ```sh skip: <reason> `
  blocks are not (they need AWS, a deployed stack, or start servers of their own), and the
  reason is reported. Other languages (`toml`, `text`, `yaml`) are never run.
- A block is split into commands as the shell reads them: a command goes on over lines
  ending in `\\`, over open quotes, and over here-documents.
- Comment lines starting `# → ` right below a command show what it prints: each such line
  must match a line of its output, `...` matching anything. A command that only reads (a
  `curl` without a body or another method, or a listing `weir` subcommand) is asked again
  until its output matches, for up to a minute: what the README shows may appear a moment
  later (a file being indexed, an alert evaluated).
- Every command must exit 0. `curl` runs with `--fail-with-body` added, so an HTTP error
  fails the example too, unless the document shows the error as the command's output.

All commands of a document run in one bash, so variables, `export` and `cd` carry over, as
they do in a reader's terminal.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^(```+|~~~+)(.*)$")
OUTPUT = "# → "
HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")
RETRY_SECONDS = 60.0
COMMAND_TIMEOUT = 300.0
CURL_HTTP_ERROR = 22  # curl --fail-with-body's exit status for an HTTP error
READ_WEIR = re.compile(
    r"^weir (query|series|metrics ls|files (ls|show)|alerts (ls|show|history)|subscriptions ls|keys ls)\b")


@dataclass
class Command:
    text: str
    line: int  # 1-based line of the document where it starts
    expected: list[str] = field(default_factory=list)

    @property
    def reads_only(self) -> bool:
        """A command that can be asked again without changing anything."""
        first = self.text.strip()
        if first.startswith("curl "):
            return not re.search(r"\s(-X\s*\w|-d\b|--data|-F\b|--form|-T\b|--upload-file)", first)
        return bool(READ_WEIR.match(first))


@dataclass
class Block:
    info: str
    line: int
    body: list[str]

    @property
    def language(self) -> str:
        return self.info.split()[0] if self.info.split() else ""

    @property
    def skip_reason(self) -> str | None:
        rest = self.info[len(self.language):].strip()
        if rest.startswith("skip:"):
            return rest[len("skip:"):].strip()
        return None

    @property
    def runs(self) -> bool:
        return self.language == "sh" and self.skip_reason is None


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text, with their info strings."""
    found: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info, start = m.group(1), m.group(2).strip(), i + 1
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].startswith(fence[0] * len(fence)):
            body.append(lines[i])
            i += 1
        found.append(Block(info, start, body))
        i += 1
    return found


def commands(block: Block) -> list[Command]:
    """The commands of a block, each with the output lines shown below it."""
    out: list[Command] = []
    pending: list[str] = []
    start = 0
    heredoc: str | None = None
    for offset, line in enumerate(block.body):
        number = block.line + 1 + offset
        if heredoc is not None:
            pending.append(line)
            if line.strip() == heredoc:
                heredoc = None
                out.append(Command("\n".join(pending), start))
                pending = []
            continue
        if not pending:
            if line.startswith(OUTPUT.rstrip()) and out:
                out[-1].expected.append(line[len(OUTPUT):].strip())
                continue
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            start = number
        pending.append(line)
        text = "\n".join(pending)
        m = HEREDOC.search(line)
        if m:
            heredoc = m.group(2)
            continue
        if text.endswith("\\") or not _complete(text):
            continue
        out.append(Command(text, start))
        pending = []
    if pending or heredoc is not None:
        raise ValueError(f"line {start}: a command is not finished at the end of its block")
    return out


def _complete(text: str) -> bool:
    """Whether bash reads `text` as whole commands (no open quote, loop or `$(`)."""
    try:
        shlex.split(text, comments=True)
    except ValueError:  # "No closing quotation": no need to ask bash
        return False
    return subprocess.run(["bash", "-n", "-c", text], capture_output=True, timeout=30).returncode == 0


def matches(expected: str, output: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return any(re.fullmatch(pattern, line.strip()) for line in output.splitlines())


@dataclass
class Result:
    command: Command
    code: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return (f"line {self.command.line}: {self.command.text}\nexit {self.code}\n"
                f"--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}")


class Shell:
    """One bash, fed one command at a time; each command's output goes to files of its own."""

    def __init__(self, cwd: Path, env: dict[str, str], scratch: Path) -> None:
        self.scratch = scratch
        self.proc = subprocess.Popen(["bash", "--noprofile", "--norc"], cwd=cwd, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.count = 0
        self._send("set -o pipefail")
        self._send('curl() { command curl --fail-with-body "$@"; }')

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("")

    def _send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def run(self, command: Command) -> Result:
        self.count += 1
        out, err = self.scratch / f"{self.count}.out", self.scratch / f"{self.count}.err"
        marker = f"__weir_done_{self.count}__"
        # Braces run it in this shell (assignments, export and cd carry over); stdin is
        # /dev/null so that no command reads the commands that follow it.
        self._send(f"{{ {command.text}\n}} >{shlex.quote(str(out))} 2>{shlex.quote(str(err))} </dev/null\n"
                   f"echo {marker} $?")
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"line {command.line}: no end after {COMMAND_TIMEOUT:.0f} s: {command.text}") \
                    from None
            if not line:
                raise RuntimeError(f"line {command.line}: bash exited running: {command.text}")
            if line.startswith(marker):
                code = int(line.split()[1])
                return Result(command, code, out.read_text(errors="replace"), err.read_text(errors="replace"))

    def check(self, command: Command) -> Result:
        """Run it; asked again (a read) until its output shows what the document shows."""
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            result = self.run(command)
            output = result.stdout + result.stderr
            missing = [e for e in command.expected if not matches(e, output)]
            shown_error = result.code == CURL_HTTP_ERROR and command.expected and command.text.startswith("curl")
            if (result.code == 0 or shown_error) and not missing:
                return result
            if not command.reads_only or time.monotonic() > deadline:
                detail = f"missing output lines: {missing}\n" if missing else ""
                raise AssertionError(f"{detail}{result.describe()}")
            time.sleep(0.2)

    def close(self) -> None:
        """End bash and whatever the examples started in the background (its process group)."""
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
