-- Headless Neovim against chop-lsp: diagnostics, go to definition, the chunk graph.
--   nvim --headless -u editors/nvim/test/minimal_init.lua -l editors/nvim/test/lsp_test.lua
local T = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/harness.lua')

local function attached(bufnr)
  return T.wait(10000, function()
    local c = vim.lsp.get_clients({ bufnr = bufnr, name = 'chop' })[1]
    return c ~= nil and c.initialized
  end)
end

T.run('neovim-lsp', function()
  -- A file with errors: its diagnostics arrive, at the right place.
  vim.cmd.edit(T.fixtures .. '/errors.chop')
  local buf = vim.api.nvim_get_current_buf()
  T.check(vim.bo[buf].filetype == 'chop', 'errors.chop has filetype chop', vim.bo[buf].filetype)
  if not T.check(attached(buf), 'chop-lsp attached to errors.chop') then
    return
  end
  local client = vim.lsp.get_clients({ bufnr = buf, name = 'chop' })[1]
  T.say('        (position encoding ' .. client.offset_encoding .. ')')
  T.wait(10000, function()
    return #vim.diagnostic.get(buf) >= 3
  end)
  local diags = vim.diagnostic.get(buf)
  local by_code = {}
  for _, d in ipairs(diags) do
    by_code[tostring(d.code)] = d
  end
  T.check(#diags == 3, 'three diagnostics on errors.chop', vim.inspect(diags))
  local unknown = by_code.E0003
  if T.check(unknown ~= nil, 'an E0003 diagnostic (unknown name)') then
    local row, col = T.pos(buf, 'unknown', 'undefined_name')
    T.check(unknown.message:find('undefined_name', 1, true) ~= nil,
      'E0003 says which name: ' .. unknown.message)
    T.check(unknown.lnum == row and unknown.col == col,
      ('E0003 at line %d, byte column %d (after an emoji and an accent)'):format(row + 1, col),
      ('got line %d column %d'):format(unknown.lnum + 1, unknown.col))
    T.check(unknown.end_col == col + #'undefined_name', 'E0003 ends after the name',
      'end column ' .. tostring(unknown.end_col))
    T.check(unknown.severity == vim.diagnostic.severity.ERROR, 'E0003 is an error')
  end
  local default = by_code.E0016
  T.check(default ~= nil and default.lnum == T.line_of(buf, 'bad-default'),
    'E0016 (a param default outside its range) on its line', default and vim.inspect(default))

  -- Go to definition: from a call of `scale` in main to its fn.
  vim.cmd.edit(T.fixtures .. '/filters.chop')
  buf = vim.api.nvim_get_current_buf()
  T.check(attached(buf), 'chop-lsp attached to filters.chop')
  local row, col = T.pos(buf, 'main-use', 'scale')
  vim.api.nvim_win_set_cursor(0, { row + 1, col + 2 })
  local def_row, def_col = T.pos(buf, 'fn-def', 'scale')
  vim.lsp.buf.definition()
  local moved = T.wait(10000, function()
    local cur = vim.api.nvim_win_get_cursor(0)
    return cur[1] == def_row + 1
  end)
  local cur = vim.api.nvim_win_get_cursor(0)
  T.check(moved and cur[2] == def_col and vim.api.nvim_get_current_buf() == buf,
    ('definition of scale: the cursor at line %d, byte column %d'):format(def_row + 1, def_col),
    ('the cursor is at line %d, column %d'):format(cur[1], cur[2]))

  -- :ChopChunkGraph on a line of the kernel filter `box`: its DOT in a new buffer.
  local loop_row, loop_col = T.pos(buf, 'loop', 'dx')
  vim.api.nvim_win_set_cursor(0, { loop_row + 1, loop_col })
  vim.cmd('ChopChunkGraph')
  local graph_buf
  T.wait(10000, function()
    for _, b in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(b) and vim.bo[b].filetype == 'dot' then
        graph_buf = b
        return true
      end
    end
    return false
  end)
  if T.check(graph_buf ~= nil, ':ChopChunkGraph opened a DOT buffer') then
    local text = table.concat(vim.api.nvim_buf_get_lines(graph_buf, 0, -1, false), '\n')
    T.check(text:find('^digraph "box"') ~= nil, 'the DOT is the graph of box', text:sub(1, 80))
    local _, edges = text:gsub('%->', '')
    T.check(edges > 0, ('the DOT has edges (%d)'):format(edges))
  end

  -- The SVG form of a function named (not under the cursor), written to a file
  -- (not opened: no viewer here).
  local svg_result
  vim.api.nvim_set_current_buf(buf)
  require('chop').chunk_graph({ format = 'svg', fn = 'scale', open = false, on_done = function(result)
    svg_result = result or false
  end })
  T.wait(10000, function()
    return svg_result ~= nil
  end)
  local svg_path = svg_result and svg_result.svg_path
  local svg = svg_path and table.concat(vim.fn.readfile(svg_path), '\n') or ''
  T.check(svg_result and svg_result['function'] == 'scale', 'the graph of the function named scale',
    vim.inspect(svg_result and svg_result['function']))
  T.check(svg:find('<svg', 1, true) ~= nil, 'its SVG form is written to a file', tostring(svg_path))
end)
