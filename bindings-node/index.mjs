// ESM entry of `idjag`. It re-exports the CommonJS entry (the napi-rs loader, index.js), so
// `import` and `require` share one native instance and one `IdjagError` class.
import idjag from './index.js'

export const {
  AccessToken,
  Client,
  IdJag,
  IdjagError,
  Session,
  Token,
  VERSION,
  Verifier,
  actionCodes,
  errorCodes,
  inspect,
  parseWwwAuthenticate,
  rejectReasons,
  stepCodes,
  tokenErrorResponse,
} = idjag

export default idjag
