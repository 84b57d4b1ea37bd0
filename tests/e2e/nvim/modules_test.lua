-- Headless Neovim against chop-lsp, across files: look.chop uses tone.chop
-- (tests/e2e/fixtures/modules/); it has no diagnostics (checked with the file it
-- uses), and go to definition on a stage's filter opens tone.chop at the filter.
--   nvim --headless -u editors/nvim/test/minimal_init.lua -l tests/e2e/nvim/modules_test.lua
local root = vim.fs.normalize(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h:h:h:h'))
vim.g.chop_repo = root
local T = dofile(root .. '/editors/nvim/test/harness.lua')

local function attached(bufnr)
  return T.wait(10000, function()
    local c = vim.lsp.get_clients({ bufnr = bufnr, name = 'chop' })[1]
    return c ~= nil and c.initialized
  end)
end

T.run('neovim-lsp-modules', function()
  local dir = T.fixtures .. '/modules'
  -- Set when the server published look.chop's diagnostics (an empty list too).
  local published = false
  vim.api.nvim_create_autocmd('DiagnosticChanged', {
    callback = function(args)
      if vim.api.nvim_buf_get_name(args.buf):match('look%.chop$') then
        published = true
      end
    end,
  })
  vim.cmd.edit(dir .. '/look.chop')
  local buf = vim.api.nvim_get_current_buf()
  if not T.check(attached(buf), 'chop-lsp attached to look.chop') then
    return
  end
  -- Diagnostics come (an empty list) once the file is checked with tone.chop.
  T.check(T.wait(10000, function()
    return published
  end), 'look.chop\'s diagnostics were published')
  local diags = vim.diagnostic.get(buf)
  T.check(#diags == 0, 'no diagnostics on look.chop (warm comes from tone.chop)', vim.inspect(diags))

  local row, col = T.pos(buf, 'stages', 'warm')
  vim.api.nvim_win_set_cursor(0, { row + 1, col + 1 })
  vim.lsp.buf.definition()
  local tone = vim.fs.normalize(dir .. '/tone.chop')
  local moved = T.wait(10000, function()
    return vim.fs.normalize(vim.api.nvim_buf_get_name(0)) == tone
  end)
  if not T.check(moved, 'definition of warm opened tone.chop', vim.api.nvim_buf_get_name(0)) then
    return
  end
  local tone_buf = vim.api.nvim_get_current_buf()
  local def_row, def_col = T.pos(tone_buf, 'filter-def', 'warm')
  local cur = vim.api.nvim_win_get_cursor(0)
  T.check(cur[1] == def_row + 1 and cur[2] == def_col,
    ('the cursor on the filter warm: line %d, byte column %d'):format(def_row + 1, def_col),
    ('the cursor is at line %d, column %d'):format(cur[1], cur[2]))
end)
