-- d5e for Neovim 0.11+: the d5e daemon as the language server of Markdown and text buffers,
-- :D5eSearch (search the rules, insert a tag), :D5eShow (read an entry), :D5ePacks (the
-- campaign's packs, turned on and off) and the read-only d5e:// documents that go to definition
-- opens.
local M = {}

M.defaults = {
  -- The command that starts the daemon; `d5e` must be on PATH, or give the full path.
  cmd = { "d5e", "serve" },
  filetypes = { "markdown", "text" },
  root_markers = { "d5e.toml", ".git" },
  -- Sent as initializationOptions and as workspace settings; see the README's settings table.
  -- What is set here wins over the workspace's d5e.toml: leave out what d5e.toml should decide.
  settings = {
    -- edition = "2024", -- "2014" or "2024"; unset: d5e.toml decides (2014 when it says nothing)
    packs = vim.empty_dict(), -- { ["my-brew"] = 50 }: packs to enable, higher wins
    disabled = {}, -- packs to turn off
  },
  search_limit = 20,
}

M.config = vim.deepcopy(M.defaults)

local METHOD_NOT_FOUND = -32601

local function notify(message, level)
  vim.notify("d5e: " .. message, level or vim.log.levels.INFO)
end

--- The running d5e client (of the current buffer if it has one).
function M.client()
  local clients = vim.lsp.get_clients({ name = "d5e", bufnr = 0 })
  if #clients == 0 then
    clients = vim.lsp.get_clients({ name = "d5e" })
  end
  return clients[1]
end

--- What an error from the daemon means to the user.
function M.error_message(method, err)
  if err.code == METHOD_NOT_FOUND then
    return ("this d5e daemon does not offer %s yet; update d5e"):format(method)
  end
  return ("%s failed: %s"):format(method, err.message or vim.inspect(err))
end

--- Call `method` on the daemon; `on_result(result)` runs on success, errors are shown.
function M.request(method, params, on_result)
  local client = M.client()
  if not client then
    notify("the d5e language server is not running (open a Markdown file first)", vim.log.levels.ERROR)
    return
  end
  client:request(method, params, function(err, result)
    if err then
      notify(M.error_message(method, err), vim.log.levels.ERROR)
    else
      on_result(result)
    end
  end, 0)
end

local function insert_at_cursor(text)
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  vim.api.nvim_buf_set_text(0, row - 1, col, row - 1, col, { text })
  vim.api.nvim_win_set_cursor(0, { row, col + #text })
end

--- Label of a search hit in the picker.
function M.hit_label(hit)
  local label = ("%s — %s (%s)"):format(hit.name, hit.collection, hit.pack)
  if hit.snippet and hit.snippet ~= "" then
    label = label .. ": " .. hit.snippet:gsub("%s+", " ")
  end
  return label
end

--- :D5eSearch [query]: search the rules by meaning and keywords, insert the chosen entry's tag.
function M.search(query)
  local buf, win = vim.api.nvim_get_current_buf(), vim.api.nvim_get_current_win()
  local function run(q)
    if not q or q == "" then
      return
    end
    M.request("d5e/search", { query = q, limit = M.config.search_limit }, function(result)
      local hits = result.hits or {}
      if #hits == 0 then
        notify(("nothing found for %q"):format(q))
        return
      end
      vim.ui.select(hits, { prompt = "d5e: " .. q, format_item = M.hit_label }, function(hit)
        if not hit then
          return
        end
        M.request("d5e/tagFor", { ref = hit.pack .. ":" .. hit.ref }, function(tag)
          if vim.api.nvim_win_is_valid(win) and vim.api.nvim_win_get_buf(win) == buf then
            vim.api.nvim_set_current_win(win)
            insert_at_cursor(tag.text)
          end
        end)
      end)
    end)
  end
  if query and query ~= "" then
    run(query)
  else
    vim.ui.input({ prompt = "d5e search: " }, run)
  end
end

--- The d5e:// URI of an entry (the format is documented in the README).
function M.entry_uri(entry)
  return ("d5e://%s/%s/%s.md"):format(entry.pack, entry.collection, entry.slug)
end

--- :D5eShow [name]: open the card of an entry by name, or of the tag under the cursor.
function M.show(name)
  if name and name ~= "" then
    M.request("d5e/lookup", { name = name }, function(result)
      M.open_document(M.entry_uri(result.entry))
    end)
  else
    vim.lsp.buf.definition()
  end
end

-- Vim takes a buffer name for a URL only when its scheme is made of letters and dashes
-- (path_with_url() in Neovim's C code): "d5e://…" would be stored as "<cwd>/d5e://…" and sent to
-- language servers as a file:// URI. So a card lives in a buffer named "dnd://PACK/COLLECTION/SLUG.md",
-- which Vim keeps as it is; M.document_uri maps it back to the d5e:// URI.
M.buffer_scheme = "dnd"

--- The buffer name of a d5e:// card.
function M.buffer_name(uri)
  return (uri:gsub("^d5e://", M.buffer_scheme .. "://"))
end

--- The d5e:// URI of a card buffer's name ("dnd://…", or "<cwd>/d5e://…" from `:edit d5e://…`).
function M.document_uri(name)
  local rest = name:match("^" .. M.buffer_scheme .. "://(.*)$") or name:match("d5e://(.*)$")
  return rest and "d5e://" .. rest
end

--- The buffer of a d5e:// card: the same one each time it is opened; its text comes on loading.
function M.document_buffer(uri)
  local buf = vim.fn.bufadd(M.buffer_name(uri))
  vim.bo[buf].buftype = "nofile"
  return buf
end

--- Show a d5e:// card in the current window.
function M.open_document(uri)
  local buf = M.document_buffer(uri)
  vim.bo[buf].buflisted = true
  vim.api.nvim_win_set_buf(0, buf)
end

--- Fill a card buffer with the entry's card (BufReadCmd).
function M.read_document(buf, uri)
  local client = M.client()
  if not client then
    notify("cannot open " .. uri .. ": the d5e language server is not running", vim.log.levels.ERROR)
    return
  end
  local response, err = client:request_sync("d5e/document", { uri = uri }, 10000, buf)
  local failure = err or (response and response.err)
  if failure or not response then
    notify(M.error_message("d5e/document", failure or { message = "no answer" }), vim.log.levels.ERROR)
    return
  end
  local bo = vim.bo[buf]
  bo.buftype = "nofile" -- before the filetype: language servers attach only to files
  bo.modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(response.result.text, "\n", { plain = true }))
  bo.bufhidden = "hide"
  bo.swapfile = false
  bo.modifiable = false
  bo.readonly = true
  bo.filetype = "markdown"
end

--- The lines of the :D5ePacks buffer for a `d5e/packs/list` result, and the pack id of each
--- line (nil for the header lines).
function M.pack_lines(result)
  local lines = {
    ("d5e packs of profile %s   <CR>/x: turn on or off   r: refresh   q: close"):format(result.profile),
    "",
  }
  local ids = { false, false }
  local packs = vim.deepcopy(result.packs or {})
  table.sort(packs, function(a, b)
    if a.installed ~= b.installed then
      return a.installed
    end
    if (a.enabled or false) ~= (b.enabled or false) then
      return a.enabled or false
    end
    if (a.priority or 0) ~= (b.priority or 0) then
      return (a.priority or 0) > (b.priority or 0)
    end
    return a.pack.id < b.pack.id
  end)
  for _, info in ipairs(packs) do
    local state = not info.installed and "[-]" or info.enabled and "[x]" or "[ ]"
    local where = not info.installed and "not installed"
      or info.enabled and ("priority %d"):format(info.priority or 0)
      or "off"
    local over = {}
    for other, by_collection in pairs(info.overrides or {}) do
      local n = 0
      for _, count in pairs(by_collection) do
        n = n + count
      end
      table.insert(over, ("%d of %s"):format(n, other))
    end
    table.sort(over)
    local line = ("%s %-16s %-13s %6d entries  %-12s %s"):format(
      state, info.pack.id, where, info.entries or 0, info.pack.license ~= "" and info.pack.license or "-", info.pack.title)
    if #over > 0 then
      line = line .. "  (overrides " .. table.concat(over, ", ") .. ")"
    end
    if info.installed and not info.enabled and info.off then
      line = line .. "  (off: " .. info.off .. ")"
    end
    table.insert(lines, line)
    table.insert(ids, info.pack.id)
  end
  for _, warning in ipairs(result.warnings or {}) do
    table.insert(lines, "! " .. warning)
    table.insert(ids, false)
  end
  return lines, ids
end

local packs_state = { buf = nil, ids = {}, packs = {} }

local function render_packs(result)
  local buf = packs_state.buf
  if not (buf and vim.api.nvim_buf_is_valid(buf)) then
    return
  end
  local lines, ids = M.pack_lines(result)
  packs_state.ids = ids
  packs_state.packs = {}
  for _, info in ipairs(result.packs or {}) do
    packs_state.packs[info.pack.id] = info
  end
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
end

--- Refresh the :D5ePacks buffer (after d5e/packsChanged, or `r`).
function M.refresh_packs()
  if packs_state.buf and vim.api.nvim_buf_is_valid(packs_state.buf) then
    M.request("d5e/packs/list", vim.empty_dict(), render_packs)
  end
end

--- Turn the pack of the line under the cursor on or off.
function M.toggle_pack()
  local id = packs_state.ids[vim.api.nvim_win_get_cursor(0)[1]]
  local info = id and packs_state.packs[id]
  if not info then
    return
  end
  if not info.installed then
    notify(("%s is not installed: `d5e packs install %s`"):format(id, id), vim.log.levels.WARN)
    return
  end
  local method = info.enabled and "d5e/packs/disable" or "d5e/packs/enable"
  M.request(method, { pack = id }, function(result)
    for _, warning in ipairs(result.warnings or {}) do
      notify(warning, vim.log.levels.WARN)
    end
    M.refresh_packs()
  end)
end

--- :D5ePacks: the campaign profile's packs in a buffer; <CR> or x turns one on or off.
function M.packs()
  local client = M.client()
  if not client then
    notify("the d5e language server is not running (open a Markdown file first)", vim.log.levels.ERROR)
    return
  end
  local buf = packs_state.buf
  if not (buf and vim.api.nvim_buf_is_valid(buf)) then
    buf = vim.api.nvim_create_buf(false, true)
    packs_state.buf = buf
    vim.api.nvim_buf_set_name(buf, "d5e-packs")
    vim.bo[buf].buftype = "nofile"
    vim.bo[buf].bufhidden = "hide"
    vim.bo[buf].swapfile = false
    vim.bo[buf].modifiable = false
    vim.bo[buf].filetype = "d5e-packs"
    for _, key in ipairs({ "<CR>", "x" }) do
      vim.keymap.set("n", key, M.toggle_pack, { buffer = buf, desc = "d5e: turn this pack on or off" })
    end
    vim.keymap.set("n", "r", M.refresh_packs, { buffer = buf, desc = "d5e: refresh the packs" })
    vim.keymap.set("n", "q", "<cmd>close<cr>", { buffer = buf, desc = "close" })
  end
  if vim.fn.bufwinid(buf) == -1 then
    vim.cmd("botright split")
    vim.api.nvim_win_set_buf(0, buf)
  else
    vim.api.nvim_set_current_win(vim.fn.bufwinid(buf))
  end
  client:request("d5e/packs/list", vim.empty_dict(), function(err, result)
    if err then
      notify(M.error_message("d5e/packs/list", err), vim.log.levels.ERROR)
    else
      render_packs(result)
    end
  end)
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  local settings = M.config.settings
  vim.lsp.config("d5e", {
    cmd = M.config.cmd,
    filetypes = M.config.filetypes,
    root_markers = M.config.root_markers,
    init_options = settings,
    settings = { d5e = settings },
    handlers = {
      -- packs changed (here, in another editor or on the command line): refresh :D5ePacks
      ["d5e/packsChanged"] = function()
        M.refresh_packs()
      end,
    },
  })
  vim.lsp.enable("d5e")

  local group = vim.api.nvim_create_augroup("d5e", { clear = true })
  vim.api.nvim_create_autocmd("BufReadCmd", {
    group = group,
    pattern = M.buffer_scheme .. "://*",
    callback = function(ev)
      M.read_document(ev.buf, M.document_uri(ev.match))
    end,
  })
  -- `:edit d5e://…` (or a quickfix item) makes a buffer named "<cwd>/d5e://…": show the card
  -- buffer instead, and unlist and unload that one (a quickfix item may still point at it).
  vim.api.nvim_create_autocmd("BufReadCmd", {
    group = group,
    pattern = "*d5e://*",
    callback = function(ev)
      local uri = M.document_uri(ev.match)
      vim.schedule(function()
        for _, win in ipairs(vim.fn.win_findbuf(ev.buf)) do
          vim.api.nvim_win_call(win, function()
            M.open_document(uri)
          end)
        end
        if vim.api.nvim_buf_is_valid(ev.buf) then
          vim.bo[ev.buf].buflisted = false
          vim.api.nvim_buf_delete(ev.buf, { force = true, unload = true })
        end
      end)
    end,
  })
  -- Go to definition and document links open d5e:// URIs through vim.uri_to_bufnr.
  M.uri_to_bufnr = M.uri_to_bufnr or vim.uri_to_bufnr
  vim.uri_to_bufnr = function(uri)
    if uri:match("^d5e://") then
      return M.document_buffer(uri)
    end
    return M.uri_to_bufnr(uri)
  end
  vim.api.nvim_create_user_command("D5eSearch", function(cmd)
    M.search(cmd.args)
  end, { nargs = "*", desc = "d5e: search the rules and insert a tag" })
  vim.api.nvim_create_user_command("D5eShow", function(cmd)
    M.show(cmd.args)
  end, { nargs = "*", desc = "d5e: show an entry (by name, or the tag under the cursor)" })
  vim.api.nvim_create_user_command("D5ePacks", function()
    M.packs()
  end, { nargs = 0, desc = "d5e: the campaign's packs; <CR> turns one on or off" })
end

return M
