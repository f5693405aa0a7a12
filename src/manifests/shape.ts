import { isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml'
import { ValidationError } from '../errors.js'

// Bounds of what a request may hold, checked in one pass without recursion (so neither a deep nor a
// wide document costs more than its size): a manifest is about six levels deep, and a request of 200
// manifests with 200 variables each has about 100,000 keys and items.
export const MAX_DEPTH = 32
export const MAX_NODES = 100_000
// One spec: 200 variables, 200 secrets, 32 labels and the rest come to well under a thousand. A REST
// write is validated on the event loop, so its bound keeps that cheap (apply is read on a worker).
export const MAX_SPEC_NODES = 5_000

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])
const BAD_YAML = 'GILGAL_BAD_YAML'

function refuse(path: string, message: string, code = 'GILGAL_BAD_DOCUMENT'): never {
  throw new ValidationError(`${path} ${message}`, [{ path, message }], code)
}

/**
 * Checks a parsed YAML document before it becomes data: at most MAX_DEPTH deep, at most `budget.nodes`
 * keys and items left for the request, plain scalar keys, each key once per mapping. One pass over
 * the syntax tree (the yaml library's own duplicate check compares every pair of keys).
 */
export function checkYamlShape(document: Document, where: string, budget: { nodes: number }): void {
  const stack: Array<{ node: Node | null; depth: number }> = [{ node: document.contents, depth: 0 }]
  for (let entry = stack.pop(); entry; entry = stack.pop()) {
    const { node, depth } = entry
    if (depth > MAX_DEPTH) refuse(where, `is nested deeper than ${MAX_DEPTH} levels`)
    if (isMap(node)) {
      const keys = new Set<string>()
      for (const pair of node.items) {
        if (!isScalar(pair.key)) refuse(where, 'is not valid YAML: a key must be a plain value', BAD_YAML)
        const key = String(pair.key.value)
        if (keys.has(key))
          refuse(
            where,
            `is not valid YAML: the key ${JSON.stringify(key.slice(0, 100))} appears twice`,
            BAD_YAML,
          )
        keys.add(key)
        stack.push({ node: isPair(pair) ? (pair.value as Node | null) : null, depth: depth + 1 })
      }
      budget.nodes -= node.items.length
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push({ node: item as Node | null, depth: depth + 1 })
      budget.nodes -= node.items.length
    }
    // Other nodes are leaves: aliases are counted and bounded when the document becomes data.
    if (budget.nodes < 0) refuse('/documents', `hold more than ${MAX_NODES} keys and items in all`)
  }
}

/**
 * Refuses what plain data must not hold, at any depth: keys that could reach an object's prototype,
 * nesting deeper than MAX_DEPTH, and more than `maxNodes` keys and items. Iterative, so no input can
 * exhaust the stack, and bounded, so no input costs more than the bound.
 */
export function assertPlainData(value: unknown, path: string, maxNodes = MAX_NODES): void {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value, path, depth: 0 }]
  let nodes = 0
  for (let entry = stack.pop(); entry; entry = stack.pop()) {
    if (entry.depth > MAX_DEPTH) refuse(entry.path, `is nested deeper than ${MAX_DEPTH} levels`)
    if (++nodes > maxNodes) refuse(path, `holds more than ${maxNodes} keys and items`)
    const { value: current } = entry
    if (Array.isArray(current)) {
      current.forEach((item, index) =>
        stack.push({ value: item, path: `${entry.path}/${index}`, depth: entry.depth + 1 }),
      )
    } else if (typeof current === 'object' && current !== null) {
      for (const key of Reflect.ownKeys(current)) {
        const where = `${entry.path}/${String(key)}`
        if (typeof key !== 'string' || FORBIDDEN_KEYS.has(key))
          refuse(where, 'is a reserved key', 'GILGAL_RESERVED_KEY')
        stack.push({ value: (current as Record<string, unknown>)[key], path: where, depth: entry.depth + 1 })
      }
    }
  }
}
