; Code folding for Chop.

[
  (function_item)
  (filter_item)
  (pipeline_item)
  (block)
  (parameters)
  (arguments)
  (named_arguments)
  (array_expression)
] @fold
