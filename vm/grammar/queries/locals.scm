; Scopes, definitions and references of Chop, for editors.

; Scopes

[
  (source_file)
  (function_item)
  (filter_item)
  (closure_expression)
  (block)
  (for_statement)
] @local.scope

; Definitions

(param_item
  name: (identifier) @local.definition)

(function_item
  name: (identifier) @local.definition)

(filter_item
  name: (identifier) @local.definition)

(pipeline_item
  name: (identifier) @local.definition)

(parameter
  name: (identifier) @local.definition)

(let_statement
  name: (identifier) @local.definition)

(var_statement
  name: (identifier) @local.definition)

(for_statement
  variable: (identifier) @local.definition)

; References. This also catches field names and the names of named
; arguments; they resolve to no local definition.

(identifier) @local.reference
