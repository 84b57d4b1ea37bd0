"""chop-lsp driven over stdio by pytest-lsp, a client the project did not write."""

from __future__ import annotations

import asyncio
import base64
import pathlib
import re

import pytest
from conftest import (
    FIXTURES,
    PNG_MAGIC,
    ROOT,
    Source,
    answer,
    change_doc,
    chunkvm,
    custom_request,
    describe,
    encoding_of,
    level_size,
    open_doc,
    png_size,
    pos_json,
    text_doc,
    wait_diagnostics,
)
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

# --- initialize -------------------------------------------------------------------


async def test_initialize_advertises_the_features(client: LanguageClient):
    result: lsp.InitializeResult = client.init_result  # type: ignore[attr-defined]
    caps = result.capabilities
    assert result.server_info is not None and result.server_info.name == "chop-lsp", (
        f"serverInfo should name chop-lsp, got {result.server_info}"
    )
    assert encoding_of(client) == "utf-16", (
        f"VS Code offers no positionEncodings: the server must use UTF-16, it chose {caps.position_encoding}"
    )

    sync = caps.text_document_sync
    change = sync.change if isinstance(sync, lsp.TextDocumentSyncOptions) else sync
    assert change == lsp.TextDocumentSyncKind.Incremental, f"textDocumentSync should be incremental: {sync}"
    if isinstance(sync, lsp.TextDocumentSyncOptions):
        assert sync.open_close, "textDocumentSync.openClose should be true"

    missing = [
        name
        for name, value in [
            ("completionProvider", caps.completion_provider),
            ("hoverProvider", caps.hover_provider),
            ("signatureHelpProvider", caps.signature_help_provider),
            ("definitionProvider", caps.definition_provider),
            ("referencesProvider", caps.references_provider),
            ("documentHighlightProvider", caps.document_highlight_provider),
            ("renameProvider", caps.rename_provider),
            ("documentSymbolProvider", caps.document_symbol_provider),
            ("workspaceSymbolProvider", caps.workspace_symbol_provider),
            ("semanticTokensProvider", caps.semantic_tokens_provider),
            ("foldingRangeProvider", caps.folding_range_provider),
            ("selectionRangeProvider", caps.selection_range_provider),
            ("documentFormattingProvider", caps.document_formatting_provider),
            ("inlayHintProvider", caps.inlay_hint_provider),
            ("codeActionProvider", caps.code_action_provider),
            ("codeLensProvider", caps.code_lens_provider),
        ]
        if not value
    ]
    assert not missing, f"capabilities not advertised: {', '.join(missing)}"

    assert isinstance(caps.rename_provider, lsp.RenameOptions) and caps.rename_provider.prepare_provider, (
        f"rename should offer prepareRename: {caps.rename_provider}"
    )
    trigger = caps.completion_provider.trigger_characters or []
    assert "." in trigger, f"completion should trigger on '.': {trigger}"
    tokens = caps.semantic_tokens_provider
    assert tokens.legend.token_types, "the semantic tokens legend has no token types"
    assert tokens.full, "semantic tokens should offer full documents"


# --- diagnostics --------------------------------------------------------------------

EXPECTED_ERRORS = [  # (code, marker, the text the range covers)
    ("E0016", "bad-default", "2.5"),
    ("E0003", "unknown", "undefined_name"),
    ("E0004", "type-error", "1.5"),
]


def check_errors(doc, diagnostics, expected=EXPECTED_ERRORS):
    got = sorted((str(d.code), d.range.start.line, d.range.start.character) for d in diagnostics)
    want = sorted((code, doc.pos(marker, needle).line, doc.pos(marker, needle).character)
                  for code, marker, needle in expected)
    assert got == want, (
        f"diagnostics (code, line, start) in {doc.encoding}: got {got}, want {want}; "
        f"all: {describe(diagnostics)}"
    )
    for code, marker, needle in expected:
        (d,) = [d for d in diagnostics if str(d.code) == code]
        assert d.range == doc.span(marker, needle), (
            f"{code}: the range should cover {needle!r} on the @{marker} line in {doc.encoding} "
            f"units: got {d.range}, want {doc.span(marker, needle)}"
        )
        assert d.severity == lsp.DiagnosticSeverity.Error, f"{code} should be an error: {d.severity}"
        assert d.message, f"{code} has no message"


async def test_open_publishes_diagnostics_in_utf16(client: LanguageClient):
    """Accents and emoji before the errors: UTF-16 counts 🎨 as two units."""
    doc = open_doc(client, "errors.chop")
    diagnostics = await wait_diagnostics(client, doc, lambda ds: len(ds) >= 3, "there are three errors")
    check_errors(doc, diagnostics)
    (unknown,) = [d for d in diagnostics if d.code == "E0003"]
    assert "undefined_name" in unknown.message, f"E0003 should name the unknown name: {unknown.message!r}"
    # The string before the error holds 🎨 and é: its UTF-16 column differs from
    # its code-point column, so a server counting characters would be caught.
    line = doc.lines[unknown.range.start.line]
    assert unknown.range.start.character == len(line[: line.index("undefined_name")].encode("utf-16-le")) // 2


async def test_utf8_is_negotiated_and_used(client_utf8: LanguageClient):
    """Neovim 0.11 offers UTF-8 first: the server takes it and counts bytes."""
    assert encoding_of(client_utf8) == "utf-8", (
        "the client offers utf-8: the server should choose it, got "
        f"{client_utf8.init_result.capabilities.position_encoding}"  # type: ignore[attr-defined]
    )
    doc = open_doc(client_utf8, "errors.chop")
    diagnostics = await wait_diagnostics(client_utf8, doc, lambda ds: len(ds) >= 3, "there are three errors")
    check_errors(doc, diagnostics)


async def test_incremental_changes_update_the_diagnostics(client: LanguageClient):
    doc = open_doc(client, "errors.chop")
    await wait_diagnostics(client, doc, lambda ds: len(ds) == 3, "there are three errors")

    # Fix the unknown name: E0003 goes, the others stay where they were.
    change_doc(client, doc, doc.replace(doc.span("unknown", "undefined_name"), "gain"))
    diagnostics = await wait_diagnostics(
        client, doc, lambda ds: {d.code for d in ds} == {"E0016", "E0004"}, "only E0016 and E0004 remain"
    )
    check_errors(doc, diagnostics, [e for e in EXPECTED_ERRORS if e[0] != "E0003"])

    # One didChange with two changes, applied in order: a line with an emoji
    # comment inserted above, then (in the shifted text) the type error fixed.
    top = doc.pos("bad-default", "param")
    first = doc.replace(lsp.Range(start=top, end=top), "// 🖌️ é inserted line\n")
    second = doc.replace(doc.span("type-error", "1.5"), "15")
    change_doc(client, doc, first, second)
    diagnostics = await wait_diagnostics(
        client, doc, lambda ds: {d.code for d in ds} == {"E0016"}, "only E0016 remains, one line lower"
    )
    check_errors(doc, diagnostics, [("E0016", "bad-default", "2.5")])

    # A fast typist: one keystroke per didChange, no waiting. The diagnostics
    # must end up those of the last text, and no stale ones may come after.
    for ch in "_xyz":
        # The name typed so far (`gain`, `gain_`, ...): the keystroke goes at its end.
        name = re.search(r"gain\w*", doc.lines[doc.line_of("unknown")]).group(0)  # type: ignore[union-attr]
        end = doc.pos("unknown", name, delta=len(name))
        change_doc(client, doc, doc.replace(lsp.Range(start=end, end=end), ch))
    expected = [("E0016", "bad-default", "2.5"), ("E0003", "unknown", "gain_xyz")]
    diagnostics = await wait_diagnostics(
        client, doc, lambda ds: {d.code for d in ds} == {"E0016", "E0003"}, "E0003 for gain_xyz"
    )
    check_errors(doc, diagnostics, expected)
    await asyncio.sleep(0.5)  # longer than any debounce: a stale publish would show
    latest = [p for p in client.published if p.uri == doc.uri][-1]  # type: ignore[attr-defined]
    check_errors(doc, latest.diagnostics, expected)


# --- completion, hover, navigation -------------------------------------------------------


async def test_completion_offers_locals_and_builtins(client: LanguageClient):
    doc = open_doc(client, "filters.chop")
    at = doc.pos("local-use", "factor")  # `scale(c, |factor)` inside `dim`
    result = await answer(
        client.text_document_completion_async(lsp.CompletionParams(text_document=text_doc(doc), position=at)),
        "completion",
    )
    items = result.items if isinstance(result, lsp.CompletionList) else (result or [])
    by_label = {item.label: item for item in items}
    labels = sorted(by_label)
    for name in ["factor", "c", "strength", "scale", "dim", "rgba", "mix", "clamp"]:
        assert name in by_label, f"completion in `dim` should offer {name!r}; got {labels}"
    for name in ["sum", "dx", "total"]:  # locals of other functions
        assert name not in by_label, f"completion in `dim` offers {name!r}, a local of another function"
    assert by_label["factor"].kind == lsp.CompletionItemKind.Variable, f"factor: {by_label['factor']}"
    assert by_label["scale"].kind == lsp.CompletionItemKind.Function, f"scale: {by_label['scale']}"

    mix = by_label["mix"]
    if mix.documentation is None and client.init_result.capabilities.completion_provider.resolve_provider:  # type: ignore[attr-defined]
        mix = await answer(client.completion_item_resolve_async(mix), "completionItem/resolve")
    doc_text = mix.documentation.value if isinstance(mix.documentation, lsp.MarkupContent) else mix.documentation
    assert doc_text and "Linear interpolation" in doc_text, (
        f"the builtin `mix` should carry its doc from builtins.rs: {mix}"
    )


async def test_hover_shows_a_builtins_doc(client: LanguageClient):
    doc = open_doc(client, "filters.chop")
    at = doc.pos("builtin-use", "rgba", delta=1)
    hover = await answer(
        client.text_document_hover_async(lsp.HoverParams(text_document=text_doc(doc), position=at)), "hover"
    )
    assert hover is not None, "no hover on the builtin rgba"
    text = hover.contents.value if isinstance(hover.contents, lsp.MarkupContent) else str(hover.contents)
    assert "A colour from red, green, blue and alpha" in text, f"hover on rgba lacks its doc: {text!r}"
    if hover.range is not None:
        assert hover.range == doc.span("builtin-use", "rgba"), f"hover range should be rgba: {hover.range}"


async def test_hover_shows_a_params_range_and_default(client: LanguageClient):
    doc = open_doc(client, "filters.chop")
    at = doc.pos("local-def", "strength")
    hover = await answer(
        client.text_document_hover_async(lsp.HoverParams(text_document=text_doc(doc), position=at)), "hover"
    )
    assert hover is not None, "no hover on the param strength"
    text = hover.contents.value if isinstance(hover.contents, lsp.MarkupContent) else str(hover.contents)
    assert "How much darker" in text, f"hover on a param should show its doc comment: {text!r}"
    assert "float" in text, f"hover on a param should show its type: {text!r}"
    assert "0.25" in text, f"hover on a param should show its default 0.25: {text!r}"
    assert re.search(r"0(\.0+)?\s*\.\.=?\s*1(\.0+)?", text), f"hover on a param should show its range 0.0..1.0: {text!r}"


async def test_definition_jumps_to_the_function_and_the_local(client: LanguageClient):
    doc = open_doc(client, "filters.chop")
    for marker, needle, def_marker, def_needle in [
        ("main-use", "scale", "fn-def", "scale"),
        ("local-use", "factor", "local-def", "factor"),
        ("main-use", "strength", "param-def", "strength"),
    ]:
        result = await answer(
            client.text_document_definition_async(
                lsp.DefinitionParams(text_document=text_doc(doc), position=doc.pos(marker, needle, delta=1))
            ),
            "definition",
        )
        assert result, f"no definition for {needle} on the @{marker} line"
        loc = result[0] if isinstance(result, list) else result
        uri = loc.target_uri if isinstance(loc, lsp.LocationLink) else loc.uri
        rng = loc.target_selection_range if isinstance(loc, lsp.LocationLink) else loc.range
        assert uri == doc.uri, f"definition of {needle} in another file: {uri}"
        assert rng == doc.span(def_marker, def_needle), (
            f"definition of {needle}: got {rng}, want the name on the @{def_marker} line {doc.span(def_marker, def_needle)}"
        )


async def test_references_find_every_use_of_a_param(client: LanguageClient):
    doc = open_doc(client, "filters.chop")
    result = await answer(
        client.text_document_references_async(
            lsp.ReferenceParams(
                text_document=text_doc(doc),
                position=doc.pos("param-def", "strength"),
                context=lsp.ReferenceContext(include_declaration=True),
            )
        ),
        "references",
    )
    got = sorted((loc.range.start.line, loc.range.start.character) for loc in result or [])
    # The pipeline's `dim(strength: 0.5)` overrides the param: a use of it too.
    want = sorted(
        (p.line, p.character)
        for p in [doc.pos(m, "strength") for m in ["param-def", "local-def", "branch", "pipeline", "main-use"]]
    )
    assert got == want, f"references of strength (line, character): got {got}, want {want}"
    for loc in result:
        assert loc.uri == doc.uri and doc.slice(loc.range) == "strength", f"a reference not on `strength`: {loc}"


# --- rename and formatting ------------------------------------------------------


def workspace_edits(edit: lsp.WorkspaceEdit, uri: str) -> list[lsp.TextEdit]:
    if edit.changes:
        return list(edit.changes.get(uri, []))
    edits = []
    for change in edit.document_changes or []:
        assert isinstance(change, lsp.TextDocumentEdit), f"unexpected document change {change}"
        if change.text_document.uri == uri:
            edits.extend(change.edits)
    return edits


async def test_rename_edits_every_use(client: LanguageClient, tmp_path):
    doc = open_doc(client, "filters.chop")
    at = doc.pos("main-use", "strength", delta=2)
    prepared = await answer(
        client.text_document_prepare_rename_async(lsp.PrepareRenameParams(text_document=text_doc(doc), position=at)),
        "prepareRename",
    )
    prepared_range = getattr(prepared, "range", prepared)
    assert prepared_range == doc.span("main-use", "strength"), f"prepareRename range: {prepared}"

    edit = await answer(
        client.text_document_rename_async(
            lsp.RenameParams(text_document=text_doc(doc), position=at, new_name="intensity")
        ),
        "rename",
    )
    assert edit is not None, "rename returned no edit"
    edits = workspace_edits(edit, doc.uri)
    assert len(edits) == 5, f"rename should edit the declaration and 4 uses, got {len(edits)}: {edits}"
    renamed = doc.apply(edits)
    code_before = re.sub(r"//.*", "", doc.text)
    code_after = re.sub(r"//.*", "", renamed)
    assert not re.search(r"\bstrength\b", code_after), "`strength` left in the code after the rename"
    assert re.sub(r"\bstrength\b", "intensity", code_before) == code_after, "rename changed something else"
    assert "`strength`" in renamed, "rename should not touch comments"
    out = tmp_path / "renamed.chop"
    out.write_text(renamed, encoding="utf-8")
    check = chunkvm("check", str(out))
    assert check.returncode == 0, f"the renamed file does not check:\n{check.stdout}{check.stderr}"


async def test_rename_is_refused_on_a_builtin(client: LanguageClient):
    doc = open_doc(client, "filters.chop")
    at = doc.pos("builtin-use", "rgba", delta=1)
    try:
        prepared = await answer(
            client.text_document_prepare_rename_async(
                lsp.PrepareRenameParams(text_document=text_doc(doc), position=at)
            ),
            "prepareRename",
        )
    except JsonRpcException as error:
        assert "builtin" in str(error).lower(), f"the refusal should say why: {error}"
    else:
        pytest.fail(f"prepareRename on the builtin rgba should be refused with a message, got {prepared}")


async def test_formatting_gives_what_chunkvm_fmt_gives(client: LanguageClient, tmp_path):
    doc = open_doc(client, "unformatted.chop")
    params = lsp.DocumentFormattingParams(
        text_document=text_doc(doc), options=lsp.FormattingOptions(tab_size=4, insert_spaces=True)
    )
    edits = await answer(client.text_document_formatting_async(params), "formatting")
    assert edits, "formatting an unformatted file gave no edits"
    formatted = doc.apply(edits)

    reference = tmp_path / "unformatted.chop"
    reference.write_text(doc.text, encoding="utf-8")
    fmt = chunkvm("fmt", str(reference))
    assert fmt.returncode == 0, f"chunkvm fmt failed: {fmt.stderr}"
    assert formatted == reference.read_text(encoding="utf-8"), (
        f"formatting differs from chunkvm fmt:\n--- editor\n{formatted}\n--- chunkvm fmt\n"
        f"{reference.read_text(encoding='utf-8')}"
    )

    # Formatting the formatted text changes nothing.
    change_doc(client, doc, lsp.TextDocumentContentChangeWholeDocument(text=formatted))
    doc.text = formatted
    again = await answer(client.text_document_formatting_async(params), "formatting")
    assert doc.apply(again or []) == formatted, "formatting is not idempotent"


# --- semantic tokens --------------------------------------------------------------


async def test_semantic_tokens(client: LanguageClient):
    doc = open_doc(client, "filters.chop")
    legend = client.init_result.capabilities.semantic_tokens_provider.legend  # type: ignore[attr-defined]
    tokens = await answer(
        client.text_document_semantic_tokens_full_async(
            lsp.SemanticTokensParams(text_document=text_doc(doc))
        ),
        "semanticTokens/full",
    )
    assert tokens is not None and tokens.data, "no semantic tokens for filters.chop"
    data = tokens.data
    assert len(data) % 5 == 0, f"semantic tokens come in groups of 5 integers: {len(data)}"
    decoded = {}
    line = char = 0
    lines = doc.lines
    for i in range(0, len(data), 5):
        d_line, d_char, length, kind, _mods = data[i : i + 5]
        line += d_line
        char = char + d_char if d_line == 0 else d_char
        assert line < len(lines), f"token {i // 5} on line {line}, past the end"
        width = len(lines[line].encode("utf-16-le")) // 2
        assert length > 0 and char + length <= width, f"token {i // 5} at {line}:{char}+{length} leaves its line"
        assert kind < len(legend.token_types), f"token type {kind} not in the legend"
        decoded[(line, char)] = (length, legend.token_types[kind])
    for marker, needle, kinds in [
        ("fn-def", "scale", {"function"}),
        ("main-use", "scale", {"function"}),
        ("param-def", "strength", {"variable", "parameter", "property", "enumMember"}),
    ]:
        p = doc.pos(marker, needle)
        got = decoded.get((p.line, p.character))
        assert got is not None and got[0] == len(needle) and got[1] in kinds, (
            f"the token of {needle} on the @{marker} line should be one of {sorted(kinds)}, got {got}"
        )


# --- the extensions -------------------------------------------------------------


async def test_chunk_graph_of_the_function_under_the_cursor(client: LanguageClient):
    doc = open_doc(client, "filters.chop")
    graph = await custom_request(
        client,
        "chop/chunkGraph",
        {"textDocument": {"uri": doc.uri}, "position": pos_json(doc.pos("loop", "dx"))},
    )
    for key in ["dot", "nodes", "edges", "svg"]:
        assert key in graph, f"chop/chunkGraph result lacks {key!r}: keys {sorted(graph)}"
    nodes, edges, dot = graph["nodes"], graph["edges"], graph["dot"]
    assert nodes and edges, f"the graph of `box` should have nodes and edges: {len(nodes)} nodes, {len(edges)} edges"
    assert dot.lstrip().startswith("digraph") and '"box"' in dot, f"DOT of `box` expected: {dot[:200]!r}"
    ids = {node["id"] for node in nodes}
    for node in nodes:
        assert f'"{node["id"]}"' in dot, f"block {node['id']} is not in the DOT"
    assert dot.count("->") >= len(edges), f"the DOT has fewer edges than the JSON ({len(edges)})"
    for edge in edges:
        assert edge["from"] in ids and edge.get("kind"), f"edge from an unknown block or without kind: {edge}"
    assert "loop" in {edge["kind"] for edge in edges}, f"`box` has loops: edge kinds {[e['kind'] for e in edges]}"
    blocks = [node for node in nodes if node.get("instrs")]
    assert blocks, "no block carries its instructions"
    first, last = doc.line_of("loop") - 3, doc.line_of("branch") + 5  # the lines of `box`
    for node in blocks:
        loc = node.get("location")
        assert loc, f"block {node['id']} has no source location"
        assert first <= loc["start"]["line"] <= loc["end"]["line"] <= last, (
            f"block {node['id']} at lines {loc['start']['line']}-{loc['end']['line']}, outside `box` ({first}-{last})"
        )
    svg = graph["svg"].lstrip()
    assert svg.startswith("<svg") or svg.startswith("<?xml"), f"svg expected: {svg[:80]!r}"


async def test_preview_returns_a_png_of_the_level(client: LanguageClient, tmp_path):
    doc = open_doc(client, "filters.chop")
    photo = ROOT / "samples" / "chelsea.png"
    level = 1
    result = await custom_request(
        client,
        "chop/preview",
        {
            "textDocument": {"uri": doc.uri},
            "filter": "dim",
            "photo": str(photo),
            "params": {"strength": 0.5},
            "level": level,
        },
    )
    assert result and "png" in result, f"chop/preview gave no png: {result}"
    png = base64.b64decode(result["png"]["base64"], validate=True)
    assert png.startswith(PNG_MAGIC), f"the preview is not a PNG: {png[:16]!r}"
    width, height = png_size(png)
    want = level_size(*png_size(photo.read_bytes()), level)
    assert (width, height) == want, f"level {level} of chelsea.png is {want}, the PNG is {width}x{height}"
    assert (result["width"], result["height"], result["level"]) == (*want, level), (
        f"the result's size and level: {result['width']}x{result['height']} level {result['level']}"
    )
    assert result["instructions"] > 0, f"the preview ran no instructions: {result}"
    assert isinstance(result["millis"], int), f"the preview's time: {result['millis']!r}"
    if result["png"].get("path"):
        assert pathlib.Path(result["png"]["path"]).read_bytes() == png, "the PNG file differs from the base64"

    # The same run from the command line gives the same picture.
    out = tmp_path / "dim.png"
    run = chunkvm(
        "run", str(doc.path), "--filter", "dim", "--param", "strength=0.5",
        "--input", str(photo), "--level", str(level), "--output", str(out),
    )
    assert run.returncode == 0, f"chunkvm run failed: {run.stderr}"
    assert out.read_bytes() == png, "the preview differs from `chunkvm run --level 1` of the same filter"


async def test_params_for_the_slider_panel(client: LanguageClient):
    doc = open_doc(client, "filters.chop")
    result = await custom_request(client, "chop/params", {"textDocument": {"uri": doc.uri}})
    assert isinstance(result, list) and len(result) == 1, f"filters.chop has one param: {result}"
    (param,) = result
    want = {"name": "strength", "type": "float", "default": 0.25, "min": 0.0, "max": 1.0}
    assert {k: param.get(k) for k in want} == want, f"chop/params: {param}"
    assert "How much darker" in (param.get("doc") or ""), f"the param's doc comment: {param}"
    assert param["range"]["start"]["line"] == doc.line_of("param-def"), f"the param's range: {param['range']}"


# --- bad input and shutdown -----------------------------------------------------------


async def test_requests_on_an_unopened_document_are_empty(client: LanguageClient):
    uri = (FIXTURES / "never_opened.chop").as_uri()
    hover = await answer(
        client.text_document_hover_async(
            lsp.HoverParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(line=0, character=0))
        ),
        "hover on an unopened document",
    )
    assert hover is None, f"hover on an unopened document should be empty: {hover}"
    doc = open_doc(client, "filters.chop")
    far = lsp.Position(line=10_000, character=10_000)
    hover = await answer(
        client.text_document_hover_async(lsp.HoverParams(text_document=text_doc(doc), position=far)),
        "hover past the end",
    )
    assert hover is None, f"hover past the end should be empty: {hover}"


async def test_shutdown_and_exit(client: LanguageClient):
    doc = open_doc(client, "filters.chop")
    await wait_diagnostics(client, doc, lambda ds: True, "any diagnostics came")
    result = await answer(client.shutdown_async(None), "shutdown")
    assert result is None, f"shutdown answers null: {result}"
    client.exit(None)
    server = client._server
    code = await answer(server.wait(), "exit (the process ending)")
    assert code == 0, f"after shutdown, exit should end the server with status 0, got {code}"


# --- modules: files that use other files ---------------------------------------


async def test_definition_goes_into_a_used_file(client: LanguageClient):
    doc = open_doc(client, "modules/look.chop")
    await wait_diagnostics(client, doc, lambda diags: not diags, "look.chop has none (checked with tone.chop)")
    tone = Source(FIXTURES / "modules" / "tone.chop", encoding=encoding_of(client))
    for needle, nth, def_marker, def_needle in [
        ("warm", 0, "filter-def", "warm"),
        ("warm", 1, "filter-def", "warm"),
        ("warmth", 0, "param-def", "warmth"),
    ]:
        result = await answer(
            client.text_document_definition_async(
                lsp.DefinitionParams(text_document=text_doc(doc), position=doc.pos("stages", needle, nth, delta=1))
            ),
            "definition",
        )
        assert result, f"no definition for the {needle} #{nth + 1} of look.chop's pipeline"
        loc = result[0] if isinstance(result, list) else result
        uri = loc.target_uri if isinstance(loc, lsp.LocationLink) else loc.uri
        rng = loc.target_selection_range if isinstance(loc, lsp.LocationLink) else loc.range
        assert uri == tone.uri, f"the definition of {needle} should be in tone.chop, not {uri}"
        assert rng == tone.span(def_marker, def_needle), (
            f"definition of {needle}: got {rng}, want {tone.span(def_marker, def_needle)} in tone.chop"
        )


async def test_the_server_asks_to_watch_chop_files(client: LanguageClient):
    """VS Code's capabilities allow dynamic registration of file watchers: the
    server registers one for ``**/*.chop``, so that files on disk that open
    documents use are re-checked when they change."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15.0
    watchers = []
    while loop.time() < deadline and not watchers:
        watchers = [
            r
            for r in client.registrations  # type: ignore[attr-defined]
            if r.method == "workspace/didChangeWatchedFiles"
        ]
        await asyncio.sleep(0.02)
    assert watchers, "chop-lsp did not register workspace/didChangeWatchedFiles"
    options = watchers[0].register_options
    globs = [w["globPattern"] if isinstance(w, dict) else w.glob_pattern for w in options["watchers"]]
    assert globs == ["**/*.chop"], f"watched globs: {globs}"


def module_source(client: LanguageClient, name: str) -> Source:
    """A fixture of ``modules/`` as it is on disk (not opened)."""
    return Source(FIXTURES / "modules" / name, encoding=encoding_of(client))


def code_of(text: str) -> str:
    """The text without its comments."""
    return re.sub(r"//.*", "", text)


async def test_references_reach_every_file_using_an_item(client: LanguageClient):
    """From the declaring file, the uses in the files of the workspace that use it
    (on disk, not open): unqualified, qualified (``t.warm(...)``) and in stages."""
    tone = open_doc(client, "modules/tone.chop")
    await wait_diagnostics(client, tone, lambda diags: not diags, "tone.chop has none")
    look = module_source(client, "look.chop")
    qualified = module_source(client, "qualified.chop")
    result = await answer(
        client.text_document_references_async(
            lsp.ReferenceParams(
                text_document=text_doc(tone),
                position=tone.pos("filter-def", "warm", delta=1),
                context=lsp.ReferenceContext(include_declaration=True),
            )
        ),
        "references",
    )
    got = sorted((loc.uri, loc.range.start.line, loc.range.start.character, loc.range.end.character)
                 for loc in result or [])
    spans = [
        (tone, tone.span("filter-def", "warm")),
        (look, look.span("stages", "warm", 0)),
        (look, look.span("stages", "warm", 1)),
        (qualified, qualified.span("calls", "warm", 0)),
        (qualified, qualified.span("calls", "warm", 1)),
        (qualified, qualified.span("qualified-stage", "warm")),
    ]
    want = sorted((doc.uri, r.start.line, r.start.character, r.end.character) for doc, r in spans)
    assert got == want, f"references of warm (uri, line, start, end): got {got}, want {want}"


async def test_rename_from_a_user_edits_every_file(client: LanguageClient, tmp_path):
    """Renaming a used filter from a file that uses it: one WorkspaceEdit over the
    declaring file and every user; only the name is edited (``t.warm`` becomes
    ``t.glow``, the alias stays), and the renamed files check."""
    look = open_doc(client, "modules/look.chop")
    await wait_diagnostics(client, look, lambda diags: not diags, "look.chop has none")
    at = look.pos("stages", "warm", 1, delta=1)
    prepared = await answer(
        client.text_document_prepare_rename_async(lsp.PrepareRenameParams(text_document=text_doc(look), position=at)),
        "prepareRename",
    )
    prepared_range = getattr(prepared, "range", prepared)
    assert prepared_range == look.span("stages", "warm", 1), f"prepareRename on tone.warm: {prepared}"
    edit = await answer(
        client.text_document_rename_async(lsp.RenameParams(text_document=text_doc(look), position=at, new_name="glow")),
        "rename",
    )
    assert edit is not None, "rename returned no edit"
    sources = {doc.uri: doc for doc in [look, module_source(client, "tone.chop"), module_source(client, "qualified.chop")]}
    if edit.document_changes:
        for change in edit.document_changes:
            if change.text_document.uri == look.uri:
                assert change.text_document.version == look.version, f"the open document's version: {change}"
    for uri, doc in sources.items():
        edits = workspace_edits(edit, uri)
        assert edits, f"no edit of {doc.path.name}: {edit}"
        renamed = doc.apply(edits)
        assert not re.search(r"\bwarm\b", code_of(renamed)), f"`warm` left in {doc.path.name}:\n{renamed}"
        assert re.sub(r"\bwarm\b", "glow", code_of(doc.text)) == code_of(renamed), f"{doc.path.name}: something else changed"
        (tmp_path / doc.path.name).write_text(renamed, encoding="utf-8")
    assert "t.glow(t.glow(c))" in (tmp_path / "qualified.chop").read_text(encoding="utf-8")
    for name in ["look.chop", "qualified.chop"]:
        check = chunkvm("check", str(tmp_path / name))
        assert check.returncode == 0, f"the renamed {name} does not check:\n{check.stdout}{check.stderr}"


async def test_rename_clashing_in_another_file_is_refused(client: LanguageClient):
    """A new name that another item of a user already has: refused, naming that
    file and line."""
    look = open_doc(client, "modules/look.chop")
    await wait_diagnostics(client, look, lambda diags: not diags, "look.chop has none")
    qualified = module_source(client, "qualified.chop")
    try:
        edit = await answer(
            client.text_document_rename_async(
                lsp.RenameParams(text_document=text_doc(look), position=look.pos("stages", "warm", 0, delta=1),
                                 new_name="warmer")
            ),
            "rename",
        )
    except JsonRpcException as error:
        message = str(error)
        line = qualified.line_of("fn") + 1
        assert "qualified.chop" in message and f"line {line}" in message, f"the refusal should say where: {message}"
    else:
        pytest.fail(f"renaming warm to warmer should be refused (qualified.chop has a warmer), got {edit}")
