-- Headless Neovim with the plugin's default settings in a campaign whose d5e.toml asks for the
-- 2024 SRD: the daemon must settle on 2024 (settings the user left unset are not sent, since
-- what the editor sends wins over d5e.toml).
-- Run by tests/test_editors.py; env as nvim_test.lua. Any failure or a stall exits non-zero.
local watchdog = vim.uv.new_timer()
watchdog:start(60000, 0, function()
  io.stderr:write("FAIL: timeout\n")
  os.exit(3)
end)

local folder = os.getenv("D5E_TEST_DIR") .. "/campaign-2024"
vim.fn.mkdir(folder, "p")
vim.fn.writefile({ 'edition = "2024"' }, folder .. "/d5e.toml")
vim.fn.writefile({ "# Notes", "" }, folder .. "/notes.md")

vim.opt.runtimepath:prepend(os.getenv("D5E_PLUGIN"))
require("d5e").setup({ cmd = vim.json.decode(os.getenv("D5E_TEST_CMD")) })
vim.cmd.edit(vim.fn.fnameescape(folder .. "/notes.md"))
local buf = vim.api.nvim_get_current_buf()
vim.bo[buf].filetype = "markdown"

local client
local ready = vim.wait(30000, function()
  client = vim.lsp.get_clients({ bufnr = buf, name = "d5e" })[1]
  return client ~= nil and client.initialized
end, 20)
if not ready then
  io.stderr:write("FAIL: no d5e client\n")
  os.exit(1)
end
local response = client:request_sync("d5e/status", vim.empty_dict(), 30000, buf)
if not response or response.err or response.result.edition ~= "2024" then
  io.stderr:write("FAIL: d5e/status: " .. vim.inspect(response) .. "\n")
  os.exit(1)
end
print("nvim workspace ok")
os.exit(0)
