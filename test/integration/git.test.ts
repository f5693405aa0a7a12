import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { directoryTree } from '../../src/source/checkout.js'
import { startGitHttpsRemote, type GitHttpsRemote } from '../helpers/git-https.js'
import { SourceError } from '../../src/source/errors.js'
import { assertSafeSource, fetchCommit, removeWorkspace, resolveCommit } from '../../src/source/git.js'

let root: string
let repo: string
let url: string
const commits: string[] = []
const local = { allowLocal: true, allowPrivate: true }

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
    ['https://deploy:ghp_leaked-token@example.com/repo.git', 'main', true],
  ]
  for (const [hostileUrl, ref, allowLocal] of cases) {
    test(`${hostileUrl} @ ${ref}${allowLocal ? '' : ' (local sources off)'}`, async () => {
      assert.throws(() => assertSafeSource(hostileUrl, ref, allowLocal), { code: 'GILGAL_SOURCE_REFUSED' })
      await assert.rejects(
        resolveCommit(hostileUrl, ref, { allowLocal, allowPrivate: true }),
        (error: unknown) => {
          assert.ok(error instanceof SourceError)
          assert.equal(error.code, 'GILGAL_SOURCE_REFUSED')
          assert.doesNotMatch(error.message, /ghp_leaked-token/, 'a credential in a URL is not repeated')
          return true
        },
      )
      assert.equal(existsSync(marker), false)
    })
  }
})

describe('hostile repositories', () => {
  let hostDir: string
  let hostile: string
  let hostileCommit: string

  before(async () => {
    // A "host" directory the controller can read, and a repository that points into it.
    hostDir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-host-'))
    await writeFile(path.join(hostDir, 'secret.txt'), 'host secret')
    await mkdir(path.join(hostDir, 'inner'))
    hostile = path.join(root, 'hostile')
    await mkdir(path.join(hostile, '-x'), { recursive: true })
    await writeFile(path.join(hostile, '-x', 'index.html'), 'an app in a directory named like an option')
    await writeFile(path.join(hostile, 'notes.txt'), 'plain')
    await writeFile(path.join(hostile, '--upload-pack=touch pwned'), 'a file named like an option')
    const run = (...args: string[]) =>
      execFileSync('git', ['-C', hostile, ...args], { encoding: 'utf8' }).trim()
    execFileSync('git', ['init', '--quiet', '--initial-branch=main', hostile])
    execFileSync('ln', ['-s', hostDir, path.join(hostile, 'up')])
    execFileSync('ln', ['-s', path.join(hostDir, 'secret.txt'), path.join(hostile, 'Dockerfile')])
    execFileSync('ln', ['-s', 'notes.txt', path.join(hostile, 'inside-link')])
    run('add', '-A')
    run('-c', 'user.email=t@e.st', '-c', 'user.name=t', 'commit', '--quiet', '-m', 'hostile')
    hostileCommit = run('rev-parse', 'HEAD')
  })

  after(async () => {
    await rm(hostDir, { recursive: true, force: true })
  })

  test('a path through a link out of the checkout is refused, and leaves no workspace', async () => {
    const workRoot = path.join(root, 'hostile-work')
    await assert.rejects(fetchCommit(`file://${hostile}`, hostileCommit, workRoot, 'up/inner', local), {
      code: 'GILGAL_SOURCE_REFUSED',
      message: /path up\/inner leaves the repository/,
    })
    await assert.rejects(fetchCommit(`file://${hostile}`, hostileCommit, workRoot, 'notes.txt', local), {
      message: /is not a directory/,
    })
    assert.deepEqual(await readdir(workRoot), [])
    assert.deepEqual((await readdir(hostDir)).sort(), ['inner', 'secret.txt'], 'nothing written on the host')
  })

  test('a file that links out of the checkout is refused, not read; links inside are followed', async () => {
    const workRoot = path.join(root, 'hostile-read')
    const { workspace, sourceDir } = await fetchCommit(
      `file://${hostile}`,
      hostileCommit,
      workRoot,
      '.',
      local,
    )
    try {
      const tree = directoryTree(sourceDir)
      assert.throws(() => tree.read('Dockerfile'), {
        code: 'GILGAL_SOURCE_REFUSED',
        message: /Dockerfile leaves/,
      })
      assert.throws(() => tree.read('up/secret.txt'), { code: 'GILGAL_SOURCE_REFUSED' })
      assert.equal(tree.read('inside-link'), 'plain')
      assert.equal(tree.read('absent.json'), undefined)
      assert.equal(tree.read('--upload-pack=touch pwned'), 'a file named like an option')
    } finally {
      await removeWorkspace(workspace)
    }
  })

  test('a directory named like an option is just a path; checked-out files share no inode with the source', async () => {
    const workRoot = path.join(root, 'hostile-option')
    const { workspace, sourceDir } = await fetchCommit(
      `file://${hostile}`,
      hostileCommit,
      workRoot,
      '-x',
      local,
    )
    try {
      assert.equal(directoryTree(sourceDir).read('index.html'), 'an app in a directory named like an option')
      const copy = statSync(path.join(workspace, 'notes.txt'))
      assert.notEqual(copy.ino, statSync(path.join(hostile, 'notes.txt')).ino, 'a copy, not a hard link')
      assert.equal(copy.nlink, 1)
    } finally {
      await removeWorkspace(workspace)
    }
  })
})

describe("remotes inside this server's networks", () => {
  const closed = { allowLocal: false, allowPrivate: false }
  for (const remote of [
    'https://127.0.0.1/repo.git',
    'https://2130706433/repo.git',
    'https://169.254.169.254/latest/meta-data.git',
    'ssh://git@10.0.0.5/repo.git',
    'git@192.168.1.10:team/repo.git',
    'https://localhost:8443/repo.git',
    'ssh://git@%31%32%37.0.0.1:2222/repo.git', // git would decode what the URL parser keeps
    'ssh://git@169.254.169%2e254/repo.git',
  ]) {
    test(`${remote} is refused before git runs`, async () => {
      await assert.rejects(resolveCommit(remote, 'main', closed), (error: unknown) => {
        assert.ok(error instanceof SourceError)
        assert.equal(error.code, 'GILGAL_SOURCE_REFUSED')
        assert.match(error.message, /an address inside this server's networks|not a plain host name/)
        return true
      })
      await assert.rejects(fetchCommit(remote, 'a'.repeat(40), path.join(root, 'private'), '.', closed), {
        code: 'GILGAL_SOURCE_REFUSED',
      })
    })
  }
})

describe('a private https remote', () => {
  let remote: GitHttpsRemote
  const secret = 'ghp_not-a-real-token-0123456789'

  before(async () => {
    const served = path.join(root, 'served')
    await mkdir(served)
    execFileSync('git', ['clone', '--quiet', '--bare', repo, path.join(served, 'app.git')])
    remote = await startGitHttpsRemote(root, served, 'deploy', secret)
    process.env.GIT_SSL_CAINFO = remote.caFile // the operator's CA, passed through to git
  })

  after(async () => {
    delete process.env.GIT_SSL_CAINFO
    await remote.close()
  })

  test('is fetched with its credentials, sent as a header; none of it is written into the checkout', async () => {
    const url = remote.url('app.git')
    const credentials = { username: 'deploy', password: secret }
    const options = { ...local, credentials }
    assert.equal(await resolveCommit(url, 'main', options), commits[1])
    const { workspace, sourceDir } = await fetchCommit(
      url,
      commits[1]!,
      path.join(root, 'private-work'),
      '.',
      options,
    )
    try {
      assert.equal(await readFile(path.join(sourceDir, 'apps/web/version.txt'), 'utf8'), 'two')
      const config = await readFile(path.join(workspace, '.git', 'config'), 'utf8')
      assert.doesNotMatch(config, new RegExp(secret), 'nothing of it written into the checkout')
    } finally {
      await removeWorkspace(workspace)
    }
    assert.ok(remote.requests.some((request) => request.authorized))
  })

  test('without them, or with wrong ones, it is SourceUnavailable and the error shows no secret', async () => {
    await assert.rejects(resolveCommit(remote.url('app.git'), 'main', local), {
      code: 'GILGAL_SOURCE_UNAVAILABLE',
    })
    const wrong = { ...local, credentials: { username: 'deploy', password: 'wrong-secret' } }
    await assert.rejects(resolveCommit(remote.url('app.git'), 'main', wrong), (error: unknown) => {
      assert.ok(error instanceof SourceError)
      assert.doesNotMatch(error.message, /wrong-secret|ZGVwbG95/)
      return true
    })
  })
})
