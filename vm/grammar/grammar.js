/**
 * @file Tree-sitter grammar of Chop, a small language for photo filters.
 * @license MIT
 *
 * The node kinds and field names are a contract with the compiler
 * (`vm/src/syntax/lower.rs`), the formatter and the editor queries: see the
 * last section of `docs/language.md`.
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

const PREC = {
  or: 1,
  and: 2,
  compare: 3,
  additive: 4,
  multiplicative: 5,
  unary: 6,
  postfix: 7,
};

/**
 * Zero or more `rule`s separated by commas, with an optional trailing comma.
 *
 * @param {RuleOrLiteral} rule
 * @returns {ChoiceRule}
 */
function commaSep(rule) {
  return optional(seq(rule, repeat(seq(',', rule)), optional(',')));
}

module.exports = grammar({
  name: 'chop',

  extras: $ => [/\s/, $.comment, $.doc_comment, $.inner_doc_comment],

  word: $ => $.identifier,

  // Keywords are never identifiers, even where an identifier is the only
  // valid token: `let x =` followed by `let y = 2;` stays two statements.
  reserved: {
    global: _ => [
      'param', 'filter', 'fn', 'pipeline', 'let', 'var', 'if', 'else',
      'while', 'for', 'in', 'return', 'break', 'continue', 'true', 'false',
      'use',
    ],
  },

  supertypes: $ => [$._item, $._statement, $._expression, $._type],

  rules: {
    source_file: $ => repeat($._item),

    // ----------------------------------------------------------------- items

    _item: $ => choice(
      $.use_item,
      $.param_item,
      $.filter_item,
      $.function_item,
      $.pipeline_item,
    ),

    // `use "../sepia.chop";` or `use "../sepia.chop" as s;` (`as` is a
    // keyword only here).
    use_item: $ => seq(
      'use',
      field('path', $.string_literal),
      optional(seq('as', field('alias', $.identifier))),
      ';',
    ),

    param_item: $ => seq(
      'param',
      field('name', $.identifier),
      ':',
      field('type', $._type),
      '=',
      field('default', $._expression),
      optional(seq('in', field('range', $.param_range))),
      ';',
    ),

    param_range: $ => seq(
      field('min', $._expression),
      '..',
      field('max', $._expression),
    ),

    filter_item: $ => seq(
      'filter',
      field('name', $.identifier),
      field('parameters', $.parameters),
      '->',
      field('return_type', $._type),
      field('body', $.block),
    ),

    function_item: $ => seq(
      'fn',
      field('name', $.identifier),
      field('parameters', $.parameters),
      optional(seq('->', field('return_type', $._type))),
      field('body', $.block),
    ),

    pipeline_item: $ => seq(
      'pipeline',
      field('name', $.identifier),
      '=',
      field('stage', $.pipeline_stage),
      repeat(seq('|>', field('stage', $.pipeline_stage))),
      ';',
    ),

    pipeline_stage: $ => seq(
      optional(seq(field('module', $.identifier), '.')),
      field('name', $.identifier),
      optional(field('arguments', $.named_arguments)),
    ),

    named_arguments: $ => seq('(', commaSep($.named_argument), ')'),

    named_argument: $ => seq(
      field('name', $.identifier),
      ':',
      field('value', $._expression),
    ),

    parameters: $ => seq('(', commaSep($.parameter), ')'),

    parameter: $ => seq(
      field('name', $.identifier),
      ':',
      field('type', $._type),
    ),

    // ----------------------------------------------------------------- types

    _type: $ => choice(
      alias($.identifier, $.type_identifier),
      $.array_type,
      $.function_type,
    ),

    array_type: $ => seq(
      '[',
      field('element', $._type),
      ';',
      field('length', $.integer_literal),
      ']',
    ),

    function_type: $ => seq(
      'fn',
      field('parameters', $.type_list),
      optional(seq('->', field('return_type', $._type))),
    ),

    type_list: $ => seq('(', commaSep($._type), ')'),

    // ------------------------------------------------------------ statements

    // A block ends with an optional value. An `if` or a block in the last
    // position is that value (`prec(2)` beats the `prec(1)` of
    // `expression_statement`); elsewhere it is a statement needing no `;`.
    block: $ => seq(
      '{',
      repeat($._statement),
      choice(
        prec(2, seq(field('value', choice($.if_expression, $.block)), '}')),
        seq(optional(field('value', $._expression)), '}'),
      ),
    ),

    _statement: $ => choice(
      $.let_statement,
      $.var_statement,
      $.assignment_statement,
      $.compound_assignment_statement,
      $.expression_statement,
      $.return_statement,
      $.break_statement,
      $.continue_statement,
      $.while_statement,
      $.for_statement,
    ),

    let_statement: $ => seq(
      'let',
      field('name', $.identifier),
      optional(seq(':', field('type', $._type))),
      '=',
      field('value', $._expression),
      ';',
    ),

    var_statement: $ => seq(
      'var',
      field('name', $.identifier),
      optional(seq(':', field('type', $._type))),
      '=',
      field('value', $._expression),
      ';',
    ),

    assignment_statement: $ => seq(
      field('left', $._expression),
      '=',
      field('right', $._expression),
      ';',
    ),

    compound_assignment_statement: $ => seq(
      field('left', $._expression),
      field('operator', choice('+=', '-=', '*=', '/=')),
      field('right', $._expression),
      ';',
    ),

    expression_statement: $ => choice(
      seq($._expression, ';'),
      prec(1, choice($.if_expression, $.block)),
    ),

    return_statement: $ => seq(
      'return',
      optional(field('value', $._expression)),
      ';',
    ),

    break_statement: _ => seq('break', ';'),

    continue_statement: _ => seq('continue', ';'),

    while_statement: $ => seq(
      'while',
      field('condition', $._expression),
      field('body', $.block),
    ),

    for_statement: $ => seq(
      'for',
      field('variable', $.identifier),
      'in',
      field('start', $._expression),
      '..',
      field('end', $._expression),
      field('body', $.block),
    ),

    // ----------------------------------------------------------- expressions

    _expression: $ => choice(
      $.identifier,
      $.integer_literal,
      $.float_literal,
      $.boolean_literal,
      $.string_literal,
      $.binary_expression,
      $.unary_expression,
      $.call_expression,
      $.field_expression,
      $.index_expression,
      $.array_expression,
      $.array_repeat_expression,
      $.parenthesized_expression,
      $.closure_expression,
      $.if_expression,
      $.block,
    ),

    binary_expression: $ => {
      const table = [
        [PREC.or, '||'],
        [PREC.and, '&&'],
        [PREC.compare, choice('==', '!=', '<', '<=', '>', '>=')],
        [PREC.additive, choice('+', '-')],
        [PREC.multiplicative, choice('*', '/', '%')],
      ];
      return choice(...table.map(([precedence, operator]) => prec.left(
        /** @type {number} */ (precedence),
        seq(
          field('left', $._expression),
          field('operator', operator),
          field('right', $._expression),
        ),
      )));
    },

    unary_expression: $ => prec(PREC.unary, seq(
      field('operator', choice('-', '!')),
      field('operand', $._expression),
    )),

    call_expression: $ => prec(PREC.postfix, seq(
      field('function', $._expression),
      field('arguments', $.arguments),
    )),

    arguments: $ => seq('(', commaSep($._expression), ')'),

    field_expression: $ => prec(PREC.postfix, seq(
      field('value', $._expression),
      '.',
      field('field', $.identifier),
    )),

    index_expression: $ => prec(PREC.postfix, seq(
      field('value', $._expression),
      '[',
      field('index', $._expression),
      ']',
    )),

    array_expression: $ => seq('[', commaSep($._expression), ']'),

    array_repeat_expression: $ => seq(
      '[',
      field('value', $._expression),
      ';',
      field('length', $._expression),
      ']',
    ),

    parenthesized_expression: $ => seq('(', $._expression, ')'),

    closure_expression: $ => seq(
      'fn',
      field('parameters', $.parameters),
      optional(seq('->', field('return_type', $._type))),
      field('body', $.block),
    ),

    if_expression: $ => seq(
      'if',
      field('condition', $._expression),
      field('consequence', $.block),
      optional(seq(
        'else',
        field('alternative', choice($.block, $.if_expression)),
      )),
    ),

    // -------------------------------------------------------------- tokens

    identifier: _ => /[A-Za-z_][A-Za-z0-9_]*/,

    integer_literal: _ => /[0-9]+/,

    float_literal: _ => token(choice(
      /[0-9]+\.[0-9]+([eE][+-]?[0-9]+)?/,
      /[0-9]+[eE][+-]?[0-9]+/,
    )),

    boolean_literal: _ => choice('true', 'false'),

    string_literal: _ => token(seq(
      '"',
      repeat(choice(/[^"\\\n]/, /\\[^\n]/)),
      '"',
    )),

    // `//` but neither `///` (unless `////`) nor `//!`.
    comment: _ => token(seq('//', /([^/!\n].*|\/\/.*)?/)),

    // `///` but not `////`.
    doc_comment: _ => token(seq('///', /([^/\n].*)?/)),

    inner_doc_comment: _ => token(seq('//!', /.*/)),
  },
});
