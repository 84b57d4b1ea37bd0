// The TextMate grammar: it parses, every regex compiles in JavaScript, and
// sample lines of Chop get the scopes they should.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { allRegexes, Grammar, scopesOf, Token, Tokenizer } from './tm';

const ROOT = path.join(__dirname, '..', '..');
const grammar = JSON.parse(fs.readFileSync(path.join(ROOT, 'syntaxes', 'chop.tmLanguage.json'), 'utf8')) as Grammar;
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const tokenizer = new Tokenizer(grammar);

/** The tokens of one line (alone, in a fresh state). */
function line(text: string): Token[] {
  return tokenizer.tokenize(text)[0];
}

/** Asserts that the `nth` token `text` of `tokens` has a scope starting with `scope`. */
function has(tokens: Token[], text: string, scope: string, nth = 0): void {
  const scopes = scopesOf(tokens, text, nth);
  assert.ok(scopes, `no token ${JSON.stringify(text)} in ${JSON.stringify(tokens)}`);
  assert.ok(
    scopes.some((s) => s === scope || s.startsWith(scope + '.')),
    `${JSON.stringify(text)} has ${JSON.stringify(scopes)}, not ${scope}`,
  );
}

/** Asserts that token `text` has none of the scopes starting with `scope`. */
function hasNot(tokens: Token[], text: string, scope: string, nth = 0): void {
  const scopes = scopesOf(tokens, text, nth) ?? [];
  assert.ok(!scopes.some((s) => s === scope || s.startsWith(scope + '.')), `${text} has ${scopes}`);
}

test('the grammar is the one package.json contributes', () => {
  assert.equal(grammar.scopeName, 'source.chop');
  const contributed = manifest.contributes.grammars[0];
  assert.equal(contributed.scopeName, grammar.scopeName);
  assert.equal(contributed.language, 'chop');
  assert.ok(fs.existsSync(path.join(ROOT, contributed.path)));
  assert.deepEqual(manifest.contributes.languages[0].extensions, ['.chop']);
});

test('every regex compiles in JavaScript and every include resolves', () => {
  const regexes = allRegexes(grammar);
  assert.ok(regexes.length > 30, `only ${regexes.length} regexes`);
  for (const { where, source } of regexes) {
    assert.doesNotThrow(() => new RegExp(source, 'dg'), `${where}: ${source}`);
    // Oniguruma (VS Code's engine) has no variable-length lookbehind.
    assert.ok(!/\(\?<[=!][^)]*[*+]/.test(source), `${where} has a variable-length lookbehind: ${source}`);
  }
  const includes = JSON.stringify(grammar).match(/"include":\s*"#[^"]+"/g) ?? [];
  for (const include of includes) {
    const name = include.replace(/.*"#/, '').replace(/"$/, '');
    assert.ok(grammar.repository[name], `unknown include #${name}`);
  }
});

test('comments: line, doc and inner doc', () => {
  has(line('// just a note'), ' just a note', 'comment.line.double-slash');
  has(line('/// How dark the corners get.'), ' How dark the corners get.', 'comment.line.documentation');
  has(line('/// How dark the corners get.'), '///', 'punctuation.definition.comment');
  has(line('//! A soft vignette.'), ' A soft vignette.', 'comment.line.documentation.inner');
  has(line('//! A soft vignette.'), '//!', 'punctuation.definition.comment');
  has(line('//// not a doc comment'), '// not a doc comment', 'comment.line.double-slash');
  hasNot(line('//// not a doc comment'), '// not a doc comment', 'comment.line.documentation');
  const after = line('let x = 1; // one');
  has(after, ' one', 'comment.line.double-slash');
  has(after, '//', 'punctuation.definition.comment');
  has(after, 'x', 'variable.other');
});

test('items: params, filters, functions and pipelines', () => {
  const param = line('param strength: float = 0.5 in 0.0..1.0;');
  has(param, 'param', 'storage.type');
  has(param, 'strength', 'variable.other.constant');
  has(param, 'float', 'support.type.primitive');
  has(param, '0.5', 'constant.numeric.float');
  has(param, 'in', 'keyword.control');
  has(param, '0.0', 'constant.numeric.float');
  has(param, '..', 'keyword.operator.range');
  has(param, '1.0', 'constant.numeric.float');

  const filter = line('filter vignette(src: image, x: int, y: int) -> color {');
  has(filter, 'filter', 'storage.type.function');
  has(filter, 'vignette', 'entity.name.function');
  has(filter, 'src', 'variable.parameter');
  has(filter, 'image', 'support.type.primitive');
  has(filter, 'x', 'variable.parameter');
  has(filter, 'int', 'support.type.primitive');
  has(filter, '->', 'keyword.operator.arrow');
  has(filter, 'color', 'support.type.primitive');

  const fn = line('fn factorial(n: int) -> int {');
  has(fn, 'fn', 'storage.type.function');
  has(fn, 'factorial', 'entity.name.function');
  hasNot(fn, 'factorial', 'entity.name.function.call');
  has(fn, 'n', 'variable.parameter');

  const higher = line('fn apply(f: fn(float) -> float, v: float) -> fn() -> int {');
  has(higher, 'apply', 'entity.name.function');
  has(higher, 'f', 'variable.parameter');
  has(higher, 'float', 'support.type.primitive', 0);
  has(higher, 'float', 'support.type.primitive', 1);
  has(higher, 'v', 'variable.parameter');
  has(higher, 'int', 'support.type.primitive');

  const pipeline = line('pipeline dark_corners = grayscale |> vignette(strength: 0.8);');
  has(pipeline, 'pipeline', 'storage.type.pipeline');
  has(pipeline, 'dark_corners', 'entity.name.function.pipeline');
  has(pipeline, 'grayscale', 'entity.name.function');
  has(pipeline, '|>', 'keyword.operator.pipe');
  has(pipeline, 'vignette', 'entity.name.function');
  has(pipeline, 'strength', 'variable.parameter');
  has(pipeline, '0.8', 'constant.numeric.float');
  has(pipeline, ';', 'punctuation.terminator');
});

test('a pipeline over several lines ends at its semicolon', () => {
  const lines = tokenizer.tokenize(
    ['pipeline comic = median3x3', '    |> saturation(amount: 1.8)', '    |> contrast(factor: 1.3);', 'fn main() {}'].join('\n'),
  );
  has(lines[1], 'saturation', 'entity.name.function');
  has(lines[1], 'amount', 'variable.parameter');
  has(lines[2], 'contrast', 'entity.name.function');
  has(lines[3], 'main', 'entity.name.function');
  hasNot(lines[3], 'main', 'meta.pipeline');
});

test('statements and expressions', () => {
  const let_ = line('    let d = sqrt(pow(float(x) - cx, 2.0)) / 2;');
  has(let_, 'let', 'storage.type');
  has(let_, 'd', 'variable.other');
  has(let_, 'sqrt', 'entity.name.function.call');
  has(let_, 'pow', 'entity.name.function.call');
  has(let_, 'float', 'entity.name.function.call');
  has(let_, '-', 'keyword.operator.arithmetic');
  has(let_, '/', 'keyword.operator.arithmetic');
  has(let_, '2', 'constant.numeric.integer');

  const method = line('    src.at(x, y) * (1.0 - strength * smoothstep(0.3, 1.0, d))');
  has(method, 'at', 'entity.name.function.method');
  has(method, '.', 'punctuation.accessor');
  has(method, 'smoothstep', 'entity.name.function.call');

  const field = line('let cx = float(src.width) / 2.0e-3;');
  has(field, 'width', 'variable.other.property');
  has(field, '2.0e-3', 'constant.numeric.float');

  const control = line('for i in 0..len(squares) { if i % 2 == 0 && !done { break; } else { continue; } }');
  for (const word of ['for', 'in', 'if', 'else', 'break', 'continue']) {
    has(control, word, 'keyword.control');
  }
  has(control, '0', 'constant.numeric.integer');
  has(control, '..', 'keyword.operator.range');
  has(control, 'len', 'entity.name.function.call');
  hasNot(control, 'len', 'variable.other.property');
  has(control, '==', 'keyword.operator.comparison');
  has(control, '&&', 'keyword.operator.logical');
  has(control, '!', 'keyword.operator.logical');

  const assign = line('sum += w; var ok: bool = true || false; x = 3e2;');
  has(assign, '+=', 'keyword.operator.assignment');
  has(assign, 'var', 'storage.type');
  has(assign, 'bool', 'support.type.primitive');
  has(assign, 'true', 'constant.language.boolean');
  has(assign, 'false', 'constant.language.boolean');
  has(assign, '||', 'keyword.operator.logical');
  has(assign, '=', 'keyword.operator.assignment', 1);
  has(assign, '3e2', 'constant.numeric.float');

  const arrays = line('var k: [float; 9] = [0.0; 9]; let color = c;');
  has(arrays, 'float', 'support.type.primitive');
  has(arrays, '9', 'constant.numeric.integer');
  // `color` is not reserved: a variable of that name is not a type.
  hasNot(arrays, 'color', 'support.type');
  has(arrays, 'color', 'variable.other');
});

test('closures', () => {
  const closure = line('let next = fn(v: float) -> float { v * gain };');
  has(closure, 'fn', 'storage.type.function');
  has(closure, 'v', 'variable.parameter');
  has(closure, 'float', 'support.type.primitive');
  hasNot(closure, 'fn', 'entity.name.function');
});

test('strings and escapes', () => {
  const tokens = line('print("4! = \\"\\n", x, "bad \\q"); // done');
  has(tokens, '"', 'punctuation.definition.string.begin');
  has(tokens, '4! = ', 'string.quoted.double');
  has(tokens, '\\"', 'constant.character.escape');
  has(tokens, '\\n', 'constant.character.escape');
  has(tokens, '\\q', 'invalid.illegal.escape');
  has(tokens, 'print', 'entity.name.function.call');
  has(tokens, ' done', 'comment.line.double-slash');
  hasNot(tokens, '4! = ', 'comment');
  // An unterminated string ends with its line.
  const lines = tokenizer.tokenize('print("oops\nlet x = 1;');
  has(lines[1], 'let', 'storage.type');
  hasNot(lines[1], 'let', 'string');
});

test('the bundled sample files tokenize without loops and every line gets a token', () => {
  for (const file of ['samples/tour.chop', 'filters/vignette.chop', 'filters/pipelines/comic.chop']) {
    const full = path.join(ROOT, '..', '..', file);
    if (!fs.existsSync(full)) {
      continue;
    }
    const text = fs.readFileSync(full, 'utf8');
    const lines = tokenizer.tokenize(text);
    text.split('\n').forEach((source, i) => {
      assert.equal(lines[i].map((t) => t.text).join(''), source, `${file}:${i + 1}`);
    });
  }
});
