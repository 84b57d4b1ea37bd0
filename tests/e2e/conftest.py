"""Fixtures and helpers of the chop-lsp end-to-end tests.

pytest-lsp starts ``target/debug/chop-lsp`` (or ``$CHOP_LSP``) for each test and
talks to it over stdio as a real client would. Positions in the fixture files are
found by ``// @name`` markers at the ends of lines, never by line numbers.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import re
import struct
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pygls.protocol import JsonRPCResponseMessage, default_converter
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"
CHOP_LSP = os.environ.get("CHOP_LSP", str(ROOT / "target" / "debug" / "chop-lsp"))
CHUNKVM = os.environ.get("CHUNKVM", str(ROOT / "target" / "debug" / "chunkvm"))

# Seconds to wait for one answer or notification of the server.
TIMEOUT = 15.0


# --- the client -----------------------------------------------------------------


def json_converter():
    """pygls' converter, except that results of requests lsprotocol does not know
    (the ``chop/...`` extensions) stay plain JSON: pygls would make namedtuples of
    them and rename fields such as ``from``."""
    converter = default_converter()
    converter.register_structure_hook(JsonRPCResponseMessage, lambda obj, cls: cls(**obj))
    return converter


def make_client() -> LanguageClient:
    """pytest-lsp's test client, also recording every publishDiagnostics in order
    (with its version), so that tests can wait for the latest one, and accepting
    the server's dynamic registrations (``client/registerCapability``, which the
    capabilities of VS Code and Neovim announce) as an editor does, recording them."""
    client = LanguageClient(converter_factory=json_converter)
    client.published = []  # type: ignore[attr-defined]
    client.registrations = []  # type: ignore[attr-defined]
    default = DEFAULT_CLIENT_FEATURES[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def publish(client: LanguageClient, params: lsp.PublishDiagnosticsParams):
        client.published.append(params)  # type: ignore[attr-defined]
        default(client, params)

    def register(client: LanguageClient, params: lsp.RegistrationParams):
        client.registrations.extend(params.registrations)  # type: ignore[attr-defined]
        return None

    register_lsp_features(
        client,
        {
            **DEFAULT_CLIENT_FEATURES,
            lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: publish,
            lsp.CLIENT_REGISTER_CAPABILITY: register,
        },
    )
    return client


if not os.access(CHOP_LSP, os.X_OK):
    raise pytest.UsageError(
        f"no chop-lsp binary at {CHOP_LSP}: run `cargo build -p chop-lsp` "
        "or scripts/e2e.sh, or set CHOP_LSP"
    )

CONFIG = ClientServerConfig(server_command=[CHOP_LSP], client_factory=make_client)


async def _start(lsp_client: LanguageClient, spec: str) -> None:
    params = lsp.InitializeParams(
        capabilities=client_capabilities(spec),
        root_uri=FIXTURES.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=FIXTURES.as_uri(), name="fixtures")],
        initialization_options={"previewPhoto": str(ROOT / "samples" / "chelsea.png")},
    )
    result = await asyncio.wait_for(lsp_client.initialize_session(params), TIMEOUT)
    lsp_client.init_result = result  # type: ignore[attr-defined]


async def _stop(lsp_client: LanguageClient) -> None:
    server = lsp_client._server
    if server is not None and server.returncode is None:
        await asyncio.wait_for(lsp_client.shutdown_session(), TIMEOUT)


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    """A client with VS Code's capabilities (1.65): it offers no position encoding,
    so positions are in UTF-16 code units."""
    await _start(lsp_client, "visual-studio-code")
    yield
    await _stop(lsp_client)


@pytest_lsp.fixture(config=CONFIG)
async def client_utf8(lsp_client: LanguageClient):
    """A client with Neovim 0.11's capabilities: it offers UTF-8 first."""
    await _start(lsp_client, "neovim@v0.11.0")
    yield
    await _stop(lsp_client)


# --- documents and positions ----------------------------------------------------


def units(text: str, encoding: str) -> int:
    """The length of ``text`` in the code units of a position encoding."""
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def to_index(line: str, character: int, encoding: str) -> int:
    """The index in ``line`` (a Python str) of a position's character offset."""
    count = 0
    for i, ch in enumerate(line):
        if count >= character:
            return i
        count += units(ch, encoding)
    return len(line)


class Source:
    """A document's text, with positions found by markers."""

    def __init__(self, path: pathlib.Path, text: str | None = None, encoding: str = "utf-16"):
        self.path = path
        self.uri = path.as_uri()
        self.text = path.read_text(encoding="utf-8") if text is None else text
        self.encoding = encoding
        self.version = 1

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    def line_of(self, marker: str) -> int:
        """The line (0-based) that ends with the comment ``// @marker``."""
        pattern = re.compile(r"//\s*@" + re.escape(marker) + r"(\s|$)")
        found = [i for i, line in enumerate(self.lines) if pattern.search(line)]
        assert len(found) == 1, f"marker @{marker}: found on lines {found} of {self.path.name}"
        return found[0]

    def pos(self, marker: str, needle: str, nth: int = 0, delta: int = 0) -> lsp.Position:
        """The position of the ``nth`` ``needle`` (plus ``delta`` characters) in
        the code of the marker's line, in this document's encoding."""
        line = self.line_of(marker)
        text = self.lines[line]
        code = text[: text.index("// @")] if "// @" in text else text
        index = -1
        for _ in range(nth + 1):
            index = code.find(needle, index + 1)
            assert index >= 0, f"{needle!r} not found {nth + 1} times on the @{marker} line: {text!r}"
        index += delta
        return lsp.Position(line=line, character=units(text[:index], self.encoding))

    def span(self, marker: str, needle: str, nth: int = 0) -> lsp.Range:
        """The range of the ``nth`` ``needle`` on the marker's line."""
        start = self.pos(marker, needle, nth)
        end = self.pos(marker, needle, nth, delta=len(needle))
        return lsp.Range(start=start, end=end)

    def offset(self, position: lsp.Position) -> int:
        """The index in the text of a position."""
        lines = self.lines
        assert position.line < len(lines), f"line {position.line} past the end ({len(lines)} lines)"
        before = sum(len(line) + 1 for line in lines[: position.line])
        return before + to_index(lines[position.line], position.character, self.encoding)

    def slice(self, rng: lsp.Range) -> str:
        return self.text[self.offset(rng.start) : self.offset(rng.end)]

    def apply(self, edits: list[lsp.TextEdit]) -> str:
        """The text after ``edits`` (non-overlapping, as LSP says)."""
        spans = sorted(
            ((self.offset(e.range.start), self.offset(e.range.end), e.new_text) for e in edits),
            reverse=True,
        )
        text = self.text
        for start, end, new in spans:
            assert start <= end, f"an edit whose start is after its end: {start} > {end}"
            text = text[:start] + new + text[end:]
        return text

    def replace(self, rng: lsp.Range, new_text: str) -> lsp.TextDocumentContentChangePartial:
        """Applies an incremental change here and returns it, for didChange."""
        start, end = self.offset(rng.start), self.offset(rng.end)
        self.text = self.text[:start] + new_text + self.text[end:]
        return lsp.TextDocumentContentChangePartial(range=rng, text=new_text)


def encoding_of(lsp_client: LanguageClient) -> str:
    """The position encoding the server chose (UTF-16 when it names none)."""
    chosen = lsp_client.init_result.capabilities.position_encoding  # type: ignore[attr-defined]
    return "utf-16" if chosen is None else str(getattr(chosen, "value", chosen))


def open_doc(lsp_client: LanguageClient, name: str, text: str | None = None) -> Source:
    """Opens a fixture (with its own text, or ``text``) in the server."""
    doc = Source(FIXTURES / name, text, encoding_of(lsp_client))
    lsp_client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(
                uri=doc.uri, language_id="chop", version=doc.version, text=doc.text
            )
        )
    )
    return doc


def change_doc(lsp_client: LanguageClient, doc: Source, *changes) -> None:
    """Sends one didChange with the incremental changes (already applied to
    ``doc`` by ``Source.replace``) and a new version."""
    doc.version += 1
    lsp_client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
            content_changes=list(changes),
        )
    )


def text_doc(doc: Source) -> lsp.TextDocumentIdentifier:
    return lsp.TextDocumentIdentifier(uri=doc.uri)


def pos_json(p: lsp.Position) -> dict:
    return {"line": p.line, "character": p.character}


# --- waiting --------------------------------------------------------------------


async def answer(awaitable, what: str):
    """The server's answer to a request, failing clearly when it does not come."""
    try:
        return await asyncio.wait_for(awaitable, TIMEOUT)
    except asyncio.TimeoutError:
        pytest.fail(f"chop-lsp did not answer {what} within {TIMEOUT} s")


def describe(diagnostics) -> str:
    return "; ".join(
        f"{d.code} {d.range.start.line}:{d.range.start.character}-"
        f"{d.range.end.line}:{d.range.end.character} {d.message!r}"
        for d in diagnostics
    ) or "none"


async def wait_diagnostics(
    lsp_client: LanguageClient,
    doc: Source,
    check: Callable[[list[lsp.Diagnostic]], bool],
    what: str,
) -> list[lsp.Diagnostic]:
    """Waits until the latest diagnostics published for ``doc`` satisfy ``check``
    (and, when the server gives versions, are those of ``doc``'s version)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    latest = None
    while loop.time() < deadline:
        mine = [p for p in lsp_client.published if p.uri == doc.uri]  # type: ignore[attr-defined]
        if mine:
            latest = mine[-1]
            fresh = latest.version is None or latest.version == doc.version
            if fresh and check(list(latest.diagnostics)):
                return list(latest.diagnostics)
        await asyncio.sleep(0.02)
    seen = (
        f"version {latest.version}: {describe(latest.diagnostics)}" if latest else "no publishDiagnostics"
    )
    pytest.fail(
        f"waited {TIMEOUT} s for diagnostics of {doc.path.name} (version {doc.version}) "
        f"where {what}; the latest were {seen}"
    )


async def custom_request(lsp_client: LanguageClient, method: str, params: dict) -> Any:
    """Sends an extension request (``chop/...``) and returns its JSON result."""
    return await answer(lsp_client.protocol.send_request_async(method, params), method)


# --- the chunkvm command line, the reference for formatting and checking -----------


def chunkvm(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    assert os.access(CHUNKVM, os.X_OK), f"no chunkvm binary at {CHUNKVM}: run `cargo build -p chunkvm-cli`"
    return subprocess.run(
        [CHUNKVM, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert png.startswith(PNG_MAGIC), f"not a PNG: {png[:16]!r}"
    return struct.unpack(">II", png[16:24])


def level_size(width: int, height: int, level: int) -> tuple[int, int]:
    """The size of a level of a photo's pyramid (each level halves, rounding up)."""
    for _ in range(level):
        width, height = (width + 1) // 2, (height + 1) // 2
    return width, height
