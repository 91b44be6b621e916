// One SDK client per AWS region, created on first use: a repository URI names its region.
export interface AwsClientOptions {
  /** Overrides the endpoint (a local emulator in tests); the SDK default otherwise. */
  endpoint?: string;
}

export function regionalClients<C>(
  make: (config: { region: string; maxAttempts: number; endpoint?: string }) => C,
  options: AwsClientOptions,
): (region: string) => C {
  const clients = new Map<string, C>();
  return (region) => {
    let client = clients.get(region);
    if (!client) {
      client = make({ region, maxAttempts: 3, ...(options.endpoint ? { endpoint: options.endpoint } : {}) });
      clients.set(region, client);
    }
    return client;
  };
}
