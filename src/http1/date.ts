/** IMF-fixdate (RFC 9110 §5.6.7) and the access log's date, each rebuilt at most once a second. */

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

/** eventlet's `format_date_time`: seconds since the epoch → "Sun, 06 Nov 1994 08:49:37 GMT". */
export function formatDateTime(seconds: number): string {
  const d = new Date(Math.floor(seconds) * 1000);
  return (
    `${WEEKDAYS[d.getUTCDay()]}, ${pad2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ` +
    `${String(d.getUTCFullYear()).padStart(4, "0")} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} GMT`
  );
}

/** BaseHTTPRequestHandler's `log_date_time_string`, in local time: "25/Nov/2026 05:56:35". */
export function formatLogDateTime(ms: number): string {
  const d = new Date(ms);
  return (
    `${pad2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
  );
}

let dateSecond = -1;
let dateLine = "";

/** "Date: <IMF-fixdate>\r\n" for now, cached for the current second. */
export function dateHeaderLine(nowMs: number = Date.now()): string {
  const second = Math.floor(nowMs / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateLine = `Date: ${formatDateTime(second)}\r\n`;
  }
  return dateLine;
}

let logSecond = -1;
let logDate = "";

/** The access log's date for now, cached for the current second. */
export function logDateTime(nowMs: number = Date.now()): string {
  const second = Math.floor(nowMs / 1000);
  if (second !== logSecond) {
    logSecond = second;
    logDate = formatLogDateTime(nowMs);
  }
  return logDate;
}
