; Syntax highlighting for Chop (nvim-treesitter capture names).
; General patterns come first, more specific ones after them: Neovim lets
; the last matching pattern win.

; Identifiers

((type_identifier) @type
  (#not-any-of? @type "int" "float" "bool" "color" "image" "str"))

((type_identifier) @type.builtin
  (#any-of? @type.builtin "int" "float" "bool" "color" "image" "str"))

(field_expression
  field: (identifier) @property)

(named_argument
  name: (identifier) @property)

(parameter
  name: (identifier) @variable.parameter)

(function_item
  name: (identifier) @function)

(filter_item
  name: (identifier) @function)

(param_item
  name: (identifier) @constant)

(pipeline_item
  name: (identifier) @function)

(pipeline_stage
  name: (identifier) @function.call)

(pipeline_stage
  module: (identifier) @module)

(use_item
  alias: (identifier) @module)

(call_expression
  function: (identifier) @function.call)

(call_expression
  function: (field_expression
    field: (identifier) @function.method.call))

; Literals

(integer_literal) @number

(float_literal) @number.float

(boolean_literal) @boolean

(string_literal) @string

; Comments

(comment) @comment

[
  (doc_comment)
  (inner_doc_comment)
] @comment.documentation

; Keywords

[
  "param"
  "filter"
  "pipeline"
  "let"
  "var"
  "if"
  "else"
  "while"
  "for"
  "in"
  "return"
  "break"
  "continue"
] @keyword

[
  "use"
  "as"
] @keyword.import

"fn" @keyword.function

; Operators and punctuation

[
  "+"
  "-"
  "*"
  "/"
  "%"
  "!"
  "=="
  "!="
  "<"
  "<="
  ">"
  ">="
  "&&"
  "||"
  "="
  "+="
  "-="
  "*="
  "/="
  "|>"
  ".."
] @operator

[
  "("
  ")"
  "["
  "]"
  "{"
  "}"
] @punctuation.bracket

[
  ","
  ";"
  ":"
  "."
  "->"
] @punctuation.delimiter
