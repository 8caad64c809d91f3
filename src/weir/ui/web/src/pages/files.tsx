// /ui/files: the file catalog as folders (keys grouped by "/" after the prefix), a record's
// details, and tombstones of deleted keys when asked. State in the URL: ?prefix=&key=&deleted=1.
import { useEffect, useState } from "preact/hooks";
import { api, debug } from "../api";
import { bytes, time } from "../format";
import { useLoad } from "../hooks";
import { href, navigate } from "../router";

const PAGE = 200;

function keyPath(key: string): string {
  return "/files/" + key.split("/").map(encodeURIComponent).join("/");
}

export function Files({ params }: { params: URLSearchParams }) {
  const prefix = params.get("prefix") || "";
  const selected = params.get("key");
  const deleted = params.get("deleted") === "1";
  const [pages, setPages] = useState<any[]>([]);
  const [more, setMore] = useState(false);
  const link = (p: Record<string, string>) =>
    href("files", { ...(p.prefix ? { prefix: p.prefix } : {}), ...(p.key ? { key: p.key } : {}), ...(deleted ? { deleted: "1" } : {}) });

  const first = useLoad(
    (signal) => api<any>("/files", { params: { prefix, delimiter: "/", limit: PAGE, include_deleted: deleted }, signal }),
    [prefix, deleted],
  );
  useEffect(() => setPages(first.data ? [first.data] : []), [first.data]);

  async function loadMore() {
    const last = pages[pages.length - 1];
    if (!last?.next_cursor) return;
    setMore(true);
    try {
      const next = await api<any>("/files", {
        params: { prefix, delimiter: "/", limit: PAGE, include_deleted: deleted, cursor: last.next_cursor },
      });
      setPages([...pages, next]);
    } finally {
      setMore(false);
    }
  }

  const folders: string[] = pages.flatMap((p) => p.prefixes || []);
  const files: any[] = pages.flatMap((p) => p.files || []);
  const bucket = pages[0]?.bucket;
  debug.files = { prefix, folders, files: files.map((f) => f.key) };
  const crumbs = prefix.split("/").filter(Boolean);
  const nextCursor = pages[pages.length - 1]?.next_cursor;

  return (
    <section class="files">
      <div class="toolbar">
        <h1>Files</h1>
        {bucket && <span class="muted small">bucket {bucket}</span>}
        <span class="spacer" />
        <label class="inline">
          <input
            type="checkbox"
            checked={deleted}
            onChange={() => navigate("files", { ...(prefix ? { prefix } : {}), ...(deleted ? {} : { deleted: "1" }) })}
          />
          show deleted
        </label>
        <button onClick={first.reload} title="Load again">↻</button>
      </div>
      <nav class="crumbs" aria-label="Folder">
        <a href={link({})}>{bucket || "bucket"}</a>
        {crumbs.map((c, i) => (
          <>
            <span class="muted"> / </span>
            <a href={link({ prefix: crumbs.slice(0, i + 1).join("/") + "/" })}>{c}</a>
          </>
        ))}
      </nav>
      {first.error && <p class="field-error" role="alert">{first.error}</p>}
      <div class={"split" + (selected ? " with-detail" : "")}>
        <div class="table-wrap list">
          <table class="data" data-testid="file-tree">
            <thead>
              <tr>
                <th>name</th>
                <th class="num">size</th>
                <th>last modified</th>
              </tr>
            </thead>
            <tbody>
              {prefix && (
                <tr>
                  <td colSpan={3}>
                    <a href={link({ prefix: crumbs.slice(0, -1).join("/") + (crumbs.length > 1 ? "/" : "") })}>
                      ↑ ..
                    </a>
                  </td>
                </tr>
              )}
              {folders.map((f) => (
                <tr>
                  <td colSpan={3}>
                    <a href={link({ prefix: f })} class="folder" data-folder={f}>
                      <FolderIcon /> {f.slice(prefix.length)}
                    </a>
                  </td>
                </tr>
              ))}
              {files.map((f) => (
                <tr class={(f.key === selected ? "selected " : "") + (f.state === "deleted" ? "tombstone" : "")}>
                  <td>
                    <a href={link({ prefix, key: f.key })} data-file={f.key}>
                      {f.key.slice(prefix.length)}
                    </a>
                    {f.state === "deleted" && <span class="badge warn">deleted</span>}
                  </td>
                  <td class="num">{f.size === undefined ? "–" : bytes(f.size)}</td>
                  <td>{time(f.deleted_at || f.last_modified)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {!first.loading && !folders.length && !files.length && (
            <p class="empty">Nothing here. Files copied into the watched folder appear within a second.</p>
          )}
          {nextCursor && (
            <button onClick={loadMore} disabled={more}>
              {more ? "Loading…" : "More"}
            </button>
          )}
        </div>
        {selected && <FileDetail fileKey={selected} deleted={deleted} close={link({ prefix })} />}
      </div>
    </section>
  );
}

const ORDER = [
  "key", "state", "size", "content_type", "last_modified", "etag", "version_id", "storage_class", "sse",
  "kms_key_id", "checksum", "user_metadata", "tag_count", "deleted_at", "expires_at", "event_name", "event_time",
  "sequencer", "processed_at", "region", "bucket",
];

function FileDetail({ fileKey, deleted, close }: { fileKey: string; deleted: boolean; close: string }) {
  const { data, error } = useLoad(
    (signal) => api<any>(keyPath(fileKey), { params: { include_deleted: deleted }, signal }),
    [fileKey, deleted],
  );
  const fields = data ? [...ORDER.filter((k) => k in data), ...Object.keys(data).filter((k) => !ORDER.includes(k))] : [];
  return (
    <aside class="detail" aria-label="File details" data-testid="file-detail">
      <div class="detail-head">
        <h2 class="mono small">{fileKey}</h2>
        <a class="button small" href={close} aria-label="Close">×</a>
      </div>
      {error && <p class="field-error">{error}</p>}
      {data && (
        <table class="data kv">
          <tbody>
            {fields.map((k) => (
              <tr>
                <th>{k}</th>
                <td class="mono small">
                  {k === "size" ? `${bytes(data[k])} (${data[k]} bytes)` : typeof data[k] === "object" ? JSON.stringify(data[k]) : String(data[k])}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </aside>
  );
}

function FolderIcon() {
  return (
    <svg class="icon-folder" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
      <path d="M1 3.5h5l1.5 1.5H15v8.5H1z" fill="currentColor" opacity=".75" />
    </svg>
  );
}
