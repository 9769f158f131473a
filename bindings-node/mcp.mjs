// ESM entry of `idjag/mcp`: re-exports the CommonJS module (one native instance).
import mcp from './mcp.js'

export const { IdjagAuthProvider, assertionCallback, withIdjag } = mcp

export default mcp
