import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { withLabels } from './build.js'

describe('labels in the Dockerfile', () => {
  const labels = { 'dev.gilgal.managed': 'true', 'dev.gilgal.project': 'p "1"' }

  test('one LABEL instruction right after the final FROM, where it is a cache hit after the first build', () => {
    assert.equal(
      withLabels('FROM a AS build\nRUN make\n\nfrom b\nCOPY --from=build /x /x\nCMD ["x"]\n', labels, null),
      'FROM a AS build\nRUN make\n\nfrom b\nLABEL dev.gilgal.managed="true" dev.gilgal.project="p \\"1\\""\nCOPY --from=build /x /x\nCMD ["x"]\n',
    )
  })

  test('not added where it could land in the wrong place', () => {
    assert.equal(withLabels('FROM a AS x\nFROM b\n', labels, 'x'), undefined, 'a target stage')
    assert.equal(withLabels('FROM \\\n  a\n', labels, null), undefined, 'a continued FROM line')
    assert.equal(withLabels('RUN x\n', labels, null), undefined, 'no FROM at all')
    assert.equal(withLabels('# escape=`\nFROM a\n', labels, null), undefined, 'another escape character')
  })
})
