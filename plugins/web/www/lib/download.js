// Downloads of what a page shows: the same rows, as CSV or JSON, made in the
// browser (no second request that could answer something else).

/** Offers text as a file named filename (e.g. "teplota-2026-11-27.csv"). */
export function downloadText(filename, mime, text) {
  const blob = new Blob([text], { type: mime });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  a.remove();
  // the click has started the download; the URL may go once it has been read
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function field(v) {
  if (v === null || v === undefined) return '';
  const s = v instanceof Date ? v.toISOString() : String(v);
  return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

/**
 * RFC 4180 CSV with CRLF line ends.  columns: strings, or {key, label}
 * objects (the header row is the keys: a file for machines; rows are
 * objects read by key).  With string columns, rows may also be arrays.
 */
export function toCSV(columns, rows) {
  const keys = columns.map((c) => (typeof c === 'string' ? c : c.key));
  const lines = [keys.map(field).join(',')];
  for (const row of rows || []) {
    const values = Array.isArray(row) ? row : keys.map((k) => row[k]);
    lines.push(values.map(field).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}
