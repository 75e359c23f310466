/**
 * Print a `JM_MANAGEMENT_API_USERS` entry (PBKDF2-SHA256, 100,000 iterations, random salt):
 *
 *   npx tsx functions/hash-password.ts alice              # asks for the password (not echoed)
 *   printf %s "$PASSWORD" | npx tsx functions/hash-password.ts alice --read-only
 *
 * The password is read from the terminal or standard input, never from the command line (which
 * other users and the shell history can see). Join several entries with commas.
 */
import { isValidName, NAME_RULE } from '../core/names.js'
import { userEntryLine } from './auth.js'

async function readPassword(): Promise<string> {
  const stdin = process.stdin
  if (!stdin.isTTY) {
    let text = ''
    for await (const chunk of stdin) text += chunk
    return text.replace(/\r?\n$/, '')
  }
  process.stderr.write('Password: ')
  stdin.setRawMode(true)
  stdin.setEncoding('utf8')
  let password = ''
  try {
    for await (const chunk of stdin as AsyncIterable<string>) {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return password
        if (char === '\u0003') process.exit(130) // Ctrl-C
        password = char === '\u007f' ? password.slice(0, -1) : password + char
      }
    }
    return password
  } finally {
    stdin.setRawMode(false)
    stdin.pause()
    process.stderr.write('\n')
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const readOnly = args.includes('--read-only')
  const names = args.filter((a) => a !== '--read-only')
  if (names.length !== 1 || !isValidName(names[0]!)) {
    process.stderr.write(`usage: npx tsx functions/hash-password.ts <user name> [--read-only]\n  (user names: ${NAME_RULE})\n`)
    process.exit(2)
  }
  const password = await readPassword()
  if (password.length === 0) {
    process.stderr.write('the password must not be empty\n')
    process.exit(2)
  }
  process.stdout.write(`${await userEntryLine(names[0]!, password, readOnly ? 'read' : 'operate')}\n`)
}

void main()
