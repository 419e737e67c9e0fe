// What a client may read of a server-side message: filesystem paths are replaced (the
// log keeps the full text). Error texts of ONNX Runtime and of Node's fs name absolute
// paths; no status detail or repository-index reason carries them.

// An absolute path of two or more segments, not part of a longer token (so "1/model.onnx"
// and "file:1/model.onnx" stay as they are).
const ABSOLUTE_PATH = /(?<![\w.:/-])\/(?:[^\s'"`,;()[\]{}<>/]+\/)+[^\s'"`,;:()[\]{}<>]*/g;

export function redactPaths(text: string): string {
  return text.replace(ABSOLUTE_PATH, '<path>');
}
