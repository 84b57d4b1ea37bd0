-- :checkhealth chop: chop-lsp and chop-dap found (and their versions, when they
-- tell it), chunkvm, the tree-sitter parser, nvim-dap.
local M = {}

--- What `path --version` prints, when it exits with 0 within 3 s and prints
--- `NAME VERSION`; nil otherwise (chop-dap, for one, has no --version).
---@param path string
---@return string?
local function version_of(path)
  local ok, run = pcall(vim.system, { path, '--version' }, { text = true, timeout = 3000 })
  if not ok then
    return nil
  end
  local res = run:wait()
  local line = vim.split(res.stdout or '', '\n', { plain = true })[1] or ''
  if res.code == 0 and line:match('^%S+ v?%d+%.%d+') then
    return vim.trim(line)
  end
  return nil
end

--- Reports an executable: its path and version, or an error with where it was looked for.
local function report_tool(label, path, err, advice)
  if not path then
    vim.health.error(label .. ': ' .. tostring(err), advice)
    return
  end
  local version = version_of(path)
  if version then
    vim.health.ok(('%s: %s (%s)'):format(label, path, version))
  else
    vim.health.ok(('%s: %s (it does not report a version)'):format(label, path))
  end
end

--- The health check.
function M.check()
  local chop = require('chop')
  vim.health.start('chop: tools')
  local lsp = chop.lsp_path()
  local cmd = vim.lsp.config.chop and vim.lsp.config.chop.cmd
  local shown = type(cmd) == 'table' and tostring(cmd[1]) or tostring(cmd)
  report_tool('chop-lsp', lsp, ('the configured cmd %s is not an executable'):format(shown),
    { 'cargo install --path lsp, or setup({ cmd = { "/path/to/chop-lsp" } })' })
  local dap_path, dap_err = chop.find_tool('chop-dap', chop.options.dap_path, 'dap_path')
  report_tool('chop-dap', dap_path, dap_err,
    { 'cargo build -p chop-dap (beside chop-lsp), or setup({ dap_path = "/path/to/chop-dap" })' })
  local cli, cli_err = chop.find_tool('chunkvm', chop.options.chunkvm_path, 'chunkvm_path')
  if cli then
    report_tool('chunkvm (for :ChopNodes)', cli, nil, nil)
  else
    vim.health.warn('chunkvm (for :ChopNodes): ' .. tostring(cli_err),
      { 'cargo build -p chunkvm-cli, or setup({ chunkvm_path = "/path/to/chunkvm" })' })
  end

  vim.health.start('chop: tree-sitter')
  local ok, added = pcall(vim.treesitter.language.add, 'chop')
  if ok and added then
    local where = vim.api.nvim_get_runtime_file('parser/chop.*', false)[1]
    vim.health.ok('the Chop parser is built' .. (where and (': ' .. where) or ''))
  else
    vim.health.warn('the Chop parser is not built (no tree-sitter highlighting)',
      { ':ChopBuildParser (needs a C compiler)' })
  end

  vim.health.start('chop: debugging')
  local dap = require('chop.dap').dap()
  if not dap then
    vim.health.info('nvim-dap is not installed: no debugging (install mfussenegger/nvim-dap, then call require("chop").setup())')
  elseif type(dap.adapters.chop) ~= 'nil' then
    vim.health.ok('nvim-dap is installed and the adapter `chop` is registered')
  else
    vim.health.warn('nvim-dap is installed but the adapter `chop` is not registered',
      { 'call require("chop").setup() after nvim-dap is loaded' })
  end
  local nodes = vim.tbl_keys(chop.options.nodes or {})
  table.sort(nodes)
  vim.health.info(#nodes > 0 and ('configured nodes: ' .. table.concat(nodes, ', '))
    or 'no nodes configured (opts.nodes): :ChopMigrate takes quic://HOST:PORT or local')
end

return M
