-- The tree-sitter parser of vm/grammar (compiled here with cc) and the queries of
-- vm/grammar/queries, loaded by Neovim through the plugin's runtimepath.
--   nvim --headless -u editors/nvim/test/minimal_init.lua -l editors/nvim/test/treesitter_test.lua
local T = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/harness.lua')

-- Only tree-sitter here: no language server.
vim.lsp.enable('chop', false)

T.run('neovim-tree-sitter', function()
  local dest = vim.fn.tempname()
  local started = vim.uv.hrtime()
  local path, err = require('chop').build_parser({ dest = dest })
  if not T.check(path ~= nil, 'the parser builds from vm/grammar/src/parser.c', err) then
    return
  end
  T.say(('        (built %s in %.1f s)'):format(path, (vim.uv.hrtime() - started) / 1e9))
  T.check(pcall(vim.treesitter.language.add, 'chop', { path = path }), 'vim.treesitter.language.add loads it')

  -- Every query file parses against the compiled grammar, read directly and as
  -- Neovim finds it on the runtimepath (editors/nvim/queries/chop).
  for _, name in ipairs({ 'highlights', 'locals', 'folds' }) do
    local file = T.root .. '/vm/grammar/queries/' .. name .. '.scm'
    local text = table.concat(vim.fn.readfile(file), '\n')
    local ok, q = pcall(vim.treesitter.query.parse, 'chop', text)
    T.check(ok, name .. '.scm parses', not ok and tostring(q) or nil)
    local ok_rtp, from_rtp = pcall(vim.treesitter.query.get, 'chop', name)
    T.check(ok_rtp and from_rtp ~= nil and ok and #from_rtp.captures == #q.captures,
      name .. ' found on the runtimepath', not ok_rtp and tostring(from_rtp) or nil)
  end

  -- Parse a fixture and run the highlights query: the captures of a few names.
  vim.cmd.edit(T.fixtures .. '/filters.chop')
  local buf = vim.api.nvim_get_current_buf()
  local parser = vim.treesitter.get_parser(buf, 'chop')
  local tree = parser:parse()[1]
  local root = tree:root()
  T.check(root:type() == 'source_file' and not root:has_error(), 'filters.chop parses without errors')
  local query = vim.treesitter.query.get('chop', 'highlights')
  local at = {}
  local count = 0
  for id, node in query:iter_captures(root, buf) do
    local row, col = node:range()
    -- Neovim lets the last matching pattern win: keep the last capture.
    at[row .. ':' .. col] = query.captures[id]
    count = count + 1
  end
  T.check(count > 50, ('the highlights query captures (%d captures)'):format(count))
  local function capture(marker, needle)
    local row, col = T.pos(buf, marker, needle)
    return at[row .. ':' .. col]
  end
  for _, case in ipairs({
    { 'fn-def', 'scale', 'function' },
    { 'fn-def', 'fn', 'keyword.function' },
    { 'param-def', 'strength', 'constant' },
    { 'param-def', '0.25', 'number.float' },
    { 'param-def', 'float', 'type.builtin' },
    { 'main-use', 'scale', 'function.call' },
    { 'local-def', 'let', 'keyword' },
  }) do
    local got = capture(case[1], case[2])
    T.check(got == case[3], ('%s on the @%s line is @%s'):format(case[2], case[1], case[3]), 'got @' .. tostring(got))
  end
  local comment_row = T.line_of(buf, 'fn-def') - 1 -- the `///` doc comment above
  T.check(at[comment_row .. ':0'] == 'comment.documentation', 'a /// doc comment is @comment.documentation',
    'got @' .. tostring(at[comment_row .. ':0']))

  -- The ftplugin starts tree-sitter highlighting in Chop buffers.
  vim.cmd.edit(T.fixtures .. '/errors.chop')
  local buf2 = vim.api.nvim_get_current_buf()
  T.check(vim.treesitter.highlighter.active[buf2] ~= nil, 'highlighting is on in a Chop buffer')
  local folds = vim.treesitter.query.get('chop', 'folds')
  local nfolds = 0
  for _ in folds:iter_captures(vim.treesitter.get_parser(buf2, 'chop'):parse()[1]:root(), buf2) do
    nfolds = nfolds + 1
  end
  T.check(nfolds > 0, ('the folds query finds folds (%d)'):format(nfolds))
end)
