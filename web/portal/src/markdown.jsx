// A small, safe Markdown renderer for the content items and the API descriptions: headings,
// paragraphs, emphasis, inline code and fenced code blocks, links and images, lists (nested),
// block quotes, rules and pipe tables. It builds React elements, never HTML strings, so any HTML
// in the text shows as text; links and images keep only http(s), mailto and relative URLs.
import { Fragment } from 'react'

// A URL safe to put in href/src, or null (javascript:, data:, vbscript: ... are dropped).
export function safeUrl(url) {
  const u = String(url || '').trim()
  if (!u) return null
  // Browsers ignore tabs and newlines inside a scheme ("java\tscript:"): look at it without them.
  const plain = u.replace(/[\u0000-\u0020]/g, '')
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(plain)
  if (scheme && !['http', 'https', 'mailto'].includes(scheme[1].toLowerCase())) return null
  return u
}

export const isExternal = (url) => /^(https?:)?\/\//i.test(url)

const ESCAPABLE = /^\\([\\`*_{}[\]()#+\-.!|>~<"'])/

// Inline Markdown → an array of strings and elements.
function inline(text, key = 'i') {
  const out = []
  let plain = ''
  let n = 0
  const flush = () => {
    if (plain) out.push(plain)
    plain = ''
  }
  const push = (node) => {
    flush()
    out.push(node)
  }
  let i = 0
  while (i < text.length) {
    const rest = text.slice(i)
    const c = rest[0]
    let m
    const k = key + '.' + n++
    if (c === '\\' && (m = ESCAPABLE.exec(rest))) {
      plain += m[1]
      i += 2
    } else if (c === '\\' && rest[1] === '\n') {
      push(<br key={k} />)
      i += 2
    } else if (c === '`' && (m = /^(`+)([\s\S]*?[^`])\1(?!`)/.exec(rest))) {
      push(<code key={k}>{m[2].replace(/\n/g, ' ').trim() || m[2]}</code>)
      i += m[0].length
    } else if (c === '!' && (m = /^!\[([^\]]*)\]\(\s*<?((?:[^\s()<>]|\([^\s()<>]*\))*)>?(?:\s+"([^"]*)")?\s*\)/.exec(rest))) {
      const src = safeUrl(m[2])
      push(src ? <img key={k} src={src} alt={m[1]} title={m[3]} /> : m[1])
      i += m[0].length
    } else if (c === '[' && (m = /^\[((?:\[[^\]]*\]|[^[\]])*)\]\(\s*<?((?:[^\s()<>]|\([^\s()<>]*\))*)>?(?:\s+"([^"]*)")?\s*\)/.exec(rest))) {
      const url = safeUrl(m[2])
      const label = inline(m[1], k)
      push(
        url ? (
          <a key={k} href={url} title={m[3]} {...(isExternal(url) ? { target: '_blank', rel: 'noopener noreferrer' } : {})}>
            {label}
          </a>
        ) : (
          <Fragment key={k}>{label}</Fragment>
        ),
      )
      i += m[0].length
    } else if (c === '<' && (m = /^<((?:https?:\/\/|mailto:)[^\s<>]+)>/i.exec(rest))) {
      push(
        <a key={k} href={m[1]} target="_blank" rel="noopener noreferrer">
          {m[1].replace(/^mailto:/i, '')}
        </a>,
      )
      i += m[0].length
    } else if ((c === '*' || c === '_') && rest[1] === c && (m = new RegExp('^\\' + c + '\\' + c + '(?=\\S)([\\s\\S]*?\\S)\\' + c + '\\' + c).exec(rest))) {
      push(<strong key={k}>{inline(m[1], k)}</strong>)
      i += m[0].length
    } else if (
      (c === '*' || c === '_') &&
      !(c === '_' && /\w/.test(text[i - 1] || '')) &&
      (m = new RegExp('^\\' + c + '(?=[^\\s' + c + '])([\\s\\S]*?[^\\s\\\\])\\' + c + (c === '_' ? '(?!\\w)' : '')).exec(rest))
    ) {
      push(<em key={k}>{inline(m[1], k)}</em>)
      i += m[0].length
    } else if (c === '~' && (m = /^~~(?=\S)([\s\S]*?\S)~~/.exec(rest))) {
      push(<del key={k}>{inline(m[1], k)}</del>)
      i += m[0].length
    } else if (c === ' ' && (m = /^ {2,}\n/.exec(rest))) {
      push(<br key={k} />)
      i += m[0].length
    } else if (c === '\n') {
      plain += ' '
      i += 1
    } else {
      plain += c
      i += 1
    }
  }
  flush()
  return out
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/
const HEADING = /^ {0,3}(#{1,6})(?:\s+(.*?))?(?:\s+#+)?\s*$/
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/
const QUOTE = /^ {0,3}> ?/
const ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])(?:\s+|$)(.*)$/
const TABLE_SEP = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/

const startsBlock = (line) => FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || ITEM.test(line)

function cells(line) {
  let s = line.trim()
  if (s.startsWith('|')) s = s.slice(1)
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1)
  return s.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'))
}

// Markdown lines → an array of block elements.
function blocks(lines, key = 'b') {
  const out = []
  let i = 0
  let n = 0
  while (i < lines.length) {
    const line = lines[i]
    const k = key + '.' + n++
    let m
    if (!line.trim()) {
      i++
    } else if ((m = FENCE.exec(line))) {
      const fence = m[1]
      const body = []
      i++
      while (i < lines.length && !lines[i].trim().startsWith(fence)) body.push(lines[i++])
      i++
      out.push(
        <pre key={k} className="md-code" data-lang={m[2] || undefined}>
          <code>{body.join('\n')}</code>
        </pre>,
      )
    } else if ((m = HEADING.exec(line))) {
      const Tag = 'h' + Math.min(6, m[1].length + 1) // the page has its own h1
      out.push(<Tag key={k}>{inline(m[2] || '', k)}</Tag>)
      i++
    } else if (RULE.test(line)) {
      out.push(<hr key={k} />)
      i++
    } else if (QUOTE.test(line)) {
      const body = []
      while (i < lines.length && lines[i].trim() && (QUOTE.test(lines[i]) || !startsBlock(lines[i])))
        body.push(lines[i++].replace(QUOTE, ''))
      out.push(<blockquote key={k}>{blocks(body, k)}</blockquote>)
    } else if ((m = ITEM.exec(line))) {
      const ordered = /\d/.test(m[2])
      const items = []
      while (i < lines.length) {
        const it = ITEM.exec(lines[i])
        if (!it || /\d/.test(it[2]) !== ordered) break
        const indent = it[1].length + it[2].length + 1
        const body = [it[3]]
        i++
        while (i < lines.length) {
          const l = lines[i]
          if (!l.trim()) {
            // A blank line ends the item unless the next line is indented under it.
            if (i + 1 < lines.length && /^\s{2,}\S/.test(lines[i + 1])) {
              body.push('')
              i++
              continue
            }
            break
          }
          if (/^\s{2,}/.test(l)) body.push(l.slice(Math.min(indent, l.length - l.trimStart().length)))
          else if (!startsBlock(l)) body.push(l)
          else break
          i++
        }
        items.push(body)
        while (i < lines.length && !lines[i].trim() && i + 1 < lines.length && ITEM.test(lines[i + 1])) i++
      }
      const Tag = ordered ? 'ol' : 'ul'
      const start = ordered ? parseInt(m[2], 10) : undefined
      out.push(
        <Tag key={k} start={start !== 1 ? start : undefined}>
          {items.map((body, j) => {
            const parts = blocks(body, k + '.' + j)
            // A tight item is its text alone, not a paragraph.
            const only = parts.length === 1 && parts[0].type === 'p' ? parts[0].props.children : parts
            return <li key={j}>{only}</li>
          })}
        </Tag>,
      )
    } else if (line.includes('|') && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1]) && lines[i + 1].includes('-')) {
      const head = cells(line)
      const aligns = cells(lines[i + 1]).map((c) => (c.startsWith(':') && c.endsWith(':') ? 'center' : c.endsWith(':') ? 'right' : undefined))
      i += 2
      const rows = []
      while (i < lines.length && lines[i].trim() && lines[i].includes('|')) rows.push(cells(lines[i++]))
      out.push(
        <table key={k} className="md-table">
          <thead>
            <tr>
              {head.map((c, j) => (
                <th key={j} style={{ textAlign: aligns[j] }}>
                  {inline(c, k + 'h' + j)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r, ri) => (
              <tr key={ri}>
                {head.map((_, j) => (
                  <td key={j} style={{ textAlign: aligns[j] }}>
                    {inline(r[j] || '', k + 'r' + ri + '.' + j)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>,
      )
    } else {
      const body = [line]
      i++
      while (i < lines.length && lines[i].trim() && !startsBlock(lines[i])) body.push(lines[i++])
      out.push(<p key={k}>{inline(body.join('\n').trim(), k)}</p>)
    }
  }
  return out
}

export function renderMarkdown(text) {
  return blocks(String(text || '').replace(/\r\n?/g, '\n').replace(/\t/g, '    ').split('\n'))
}

export function Markdown({ text, className = '', testid }) {
  if (!text) return null
  return (
    <div className={className ? 'markdown ' + className : 'markdown'} data-testid={testid}>
      {renderMarkdown(text)}
    </div>
  )
}
