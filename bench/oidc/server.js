// The peer server for make bench: node oidc-provider with its device flow feature and its
// default in-memory adapter, on 127.0.0.1. Its device authorization and token endpoints are
// mounted on the same paths as devauth's, so the same wrk scripts drive both.
//
// Usage: node oidc/server.js PORT

import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'bench-tv',
      token_endpoint_auth_method: 'none',
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
      response_types: [],
      redirect_uris: [],
    },
  ],
  features: {
    deviceFlow: { enabled: true },
    devInteractions: { enabled: false },
  },
  routes: {
    device_authorization: '/oauth/device/begin',
    token: '/oauth/device/token',
  },
  ttl: { DeviceCode: 600 },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
