/** A registered user's API calls, for the benches that drive the whole product over HTTP. */
export type Api = (method: string, path: string, body?: string, type?: string) => Promise<Record<string, any>> // eslint-disable-line @typescript-eslint/no-explicit-any

/** Registers `name` (one user per bench: they share one database) and calls the API as them. */
export async function session(port: number, name: string): Promise<Api> {
  const call = async (
    method: string,
    url: string,
    body?: string,
    type = 'application/json',
    token?: string,
  ) => {
    const response = await fetch(`http://127.0.0.1:${port}${url}`, {
      method,
      headers: { 'content-type': type, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    })
    if (response.status >= 300)
      throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`)
    return (await response.json()) as Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  }
  const user = { email: `${name}@example.com`, username: name, password: 'correct horse battery' }
  const { accessToken } = await call('POST', '/api/auth/register', JSON.stringify(user))
  return (method, url, body, type) => call(method, url, body, type, accessToken)
}
