// The security flags (README "Security"): TLS for gRPC and metrics, tritonserver's
// restricted protocol, the access policy, the audit log and the model keys.

import { parseRestrictions } from './security/restricted-protocol.js';
import { parseHostName, parseOrigin } from './security/origin-policy.js';
import type { SecurityOptions, TlsSettings } from './security/security.js';
import { OptionError, bool, envName, path } from './cli-values.js';

export function securityFrom(v: Record<string, string | string[] | boolean | undefined>): SecurityOptions {
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? v[k] : undefined);
  const grpcMutual = bool('grpc-use-ssl-mutual', str('grpc-use-ssl-mutual'), false);
  const grpcSsl = bool('grpc-use-ssl', str('grpc-use-ssl'), false) || grpcMutual;
  const grpcFiles = { cert: path(str('grpc-server-cert')), key: path(str('grpc-server-key')), root: path(str('grpc-root-cert')) };
  const grpcTls = grpcSsl ? tlsSettings('grpc', grpcFiles, grpcMutual) : undefined;
  if (!grpcSsl && (grpcFiles.cert || grpcFiles.key || grpcFiles.root))
    throw new OptionError('--grpc-server-cert, --grpc-server-key and --grpc-root-cert need --grpc-use-ssl=true');
  const metricsMutual = bool('metrics-use-ssl-mutual', str('metrics-use-ssl-mutual'), false);
  const metricsSsl = bool('metrics-use-ssl', str('metrics-use-ssl'), false) || metricsMutual;
  const mine = { cert: path(str('metrics-server-cert')), key: path(str('metrics-server-key')), root: path(str('metrics-root-cert')) };
  if (!metricsSsl && (mine.cert || mine.key || mine.root))
    throw new OptionError('--metrics-server-cert, --metrics-server-key and --metrics-root-cert need --metrics-use-ssl=true');
  const metricsFiles = mine.cert || mine.key ? mine : { ...grpcFiles, root: mine.root ?? grpcFiles.root };
  const metricsTls = metricsSsl ? tlsSettings('metrics', metricsFiles, metricsMutual) : undefined;
  let restrictions;
  try {
    restrictions = [
      ...parseRestrictions((v['grpc-restricted-protocol'] as string[] | undefined) ?? [], '--grpc-restricted-protocol', 'grpc'),
      ...parseRestrictions((v['http-restricted-api'] as string[] | undefined) ?? [], '--http-restricted-api', 'http'),
    ];
  } catch (err) {
    throw new OptionError((err as Error).message);
  }
  let httpCorsOrigins;
  let httpAllowedHosts;
  try {
    httpCorsOrigins = ((v['http-cors-origin'] as string[] | undefined) ?? []).map(parseOrigin);
    httpAllowedHosts = ((v['http-allowed-host'] as string[] | undefined) ?? []).map(parseHostName);
  } catch (err) {
    throw new OptionError((err as Error).message);
  }
  const modelKeys = { keyFile: path(str('model-key-file')), keyEnv: envName(str('model-key-env')) };
  const requireEncryptedModels = bool('require-encrypted-models', str('require-encrypted-models'), false);
  if (requireEncryptedModels && !modelKeys.keyFile && !modelKeys.keyEnv) {
    throw new OptionError('--require-encrypted-models=true needs the model keys: --model-key-file or --model-key-env');
  }
  const rate = str('audit-log-infer-sample-rate');
  const auditLogFile = path(str('audit-log'));
  if (rate !== undefined && !auditLogFile) throw new OptionError('--audit-log-infer-sample-rate needs --audit-log');
  if (rate !== undefined && !/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(rate))
    throw new OptionError(`--audit-log-infer-sample-rate must be a number in 0..1, got '${rate}'`);
  return {
    grpcTls,
    metricsTls,
    restrictions,
    accessPolicyFile: path(str('access-policy')),
    auditLogFile,
    auditInferSampleRate: rate === undefined ? 0 : Number(rate),
    modelKeys,
    requireEncryptedModels,
    httpCorsOrigins,
    httpAllowedHosts,
  };
}

function tlsSettings(
  which: 'grpc' | 'metrics',
  files: { cert?: string | undefined; key?: string | undefined; root?: string | undefined },
  mutual: boolean,
): TlsSettings {
  if (!files.cert || !files.key) {
    throw new OptionError(
      which === 'grpc'
        ? '--grpc-use-ssl=true needs --grpc-server-cert and --grpc-server-key'
        : '--metrics-use-ssl=true needs --metrics-server-cert and --metrics-server-key (or the --grpc-server-* ones)',
    );
  }
  if (mutual && !files.root)
    throw new OptionError(
      `--${which}-use-ssl-mutual=true needs --${which}-root-cert${which === 'metrics' ? ' (or --grpc-root-cert)' : ''}, the CA client certificates must chain to`,
    );
  return { cert: files.cert, key: files.key, root: files.root, mutual };
}
