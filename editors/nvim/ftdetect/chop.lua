-- Chop photo filters: *.chop files.
vim.filetype.add({ extension = { chop = 'chop' } })
