import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import {
  assertSafeSource,
  fetchCommit,
  removeWorkspace,
  resolveCommit,
  SourceError,
} from '../../src/source/git.js'

let root: string
let repo: string
let url: string
const commits: string[] = []
const local = { allowLocal: true }

function git(...args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim()
}

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'gilgal-git-'))
  repo = path.join(root, 'repo')
  url = `file://${repo}`
  execFileSync('git', ['init', '--quiet', '--initial-branch=main', repo])
  git('config', 'user.email', 'test@example.com')
  git('config', 'user.name', 'test')
  await mkdir(path.join(repo, 'apps', 'web'), { recursive: true })
  for (const version of ['one', 'two']) {
    await writeFile(path.join(repo, 'apps', 'web', 'version.txt'), version)
    git('add', '.')
    git('commit', '--quiet', '-m', version)
    commits.push(git('rev-parse', 'HEAD'))
  }
  git('tag', '-a', 'v1', '-m', 'release', commits[0]!)
})

after(async () => {
  await rm(root, { recursive: true, force: true })
})

describe('resolving refs', () => {
  test('a branch, HEAD, an annotated tag (peeled) and a full commit id', async () => {
    assert.equal(await resolveCommit(url, 'main', local), commits[1])
    assert.equal(await resolveCommit(url, 'HEAD', local), commits[1])
    assert.equal(await resolveCommit(url, 'v1', local), commits[0])
    assert.equal(await resolveCommit(url, commits[0]!, local), commits[0])
  })

  test('an unknown ref or an unreachable repository is SourceUnavailable', async () => {
    await assert.rejects(
      resolveCommit(url, 'nope', local),
      (error: unknown) => error instanceof SourceError && /not found/.test(error.message),
    )
    await assert.rejects(resolveCommit(`file://${root}/missing`, 'main', local), {
      code: 'GILGAL_SOURCE_UNAVAILABLE',
    })
  })
})

describe('fetching', () => {
  test('exactly the commit asked for, in a workspace that is removed afterwards', async () => {
    const workRoot = path.join(root, 'work')
    const { workspace, sourceDir } = await fetchCommit(url, commits[0]!, workRoot, 'apps/web', local)
    assert.equal(await readFile(path.join(sourceDir, 'version.txt'), 'utf8'), 'one')
    assert.equal(
      execFileSync('git', ['-C', workspace, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim(),
      commits[0],
    )
    await removeWorkspace(workspace)
    assert.deepEqual(await readdir(workRoot), [])
  })

  test('a path leaving the repository is refused and leaves no workspace', async () => {
    const workRoot = path.join(root, 'escape')
    await assert.rejects(fetchCommit(url, commits[1]!, workRoot, '../..', local), {
      code: 'GILGAL_SOURCE_REFUSED',
    })
    assert.deepEqual(await readdir(workRoot), [])
  })
})

describe('hostile sources are refused before git runs', () => {
  const marker = path.join(os.tmpdir(), `gilgal-pwned-${process.pid}`)
  const cases: Array<[string, string, boolean]> = [
    [`--upload-pack=touch ${marker}`, 'main', true],
    [`ext::sh -c touch% ${marker}`, 'main', true],
    ['https://example.com/repo.git', '--upload-pack=x', true],
    ['https://example.com/repo.git', '-x', true],
    ['file:///srv/repo.git', 'main', false],
    ['/srv/repo.git', 'main', false],
    ['http://example.com/insecure.git', 'main', true],
  ]
  for (const [hostileUrl, ref, allowLocal] of cases) {
    test(`${hostileUrl} @ ${ref}${allowLocal ? '' : ' (local sources off)'}`, async () => {
      assert.throws(() => assertSafeSource(hostileUrl, ref, allowLocal), { code: 'GILGAL_SOURCE_REFUSED' })
      await assert.rejects(resolveCommit(hostileUrl, ref, { allowLocal }), { code: 'GILGAL_SOURCE_REFUSED' })
      assert.equal(existsSync(marker), false)
    })
  }
})
