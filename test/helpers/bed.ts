// The running test bed, as test/bed/with-bed.sh exported it. Missing variables fail the test
// run or the benchmark: neither skips silently when the bed is absent.
import { KubeConfig } from '@kubernetes/client-node';

/** An environment variable the bed exports; missing, it is an error, never a skip. */
export function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run through test/bed/with-bed.sh (\`npm run test:integration\`, \`npm run bench:pipeline\`)`,
    );
  }
  return value;
}

export const bed = {
  get kubeconfig() {
    return required('KUBECONFIG');
  },
  get kubectl() {
    return required('BED_KUBECTL');
  },
  get mlflowUri() {
    return required('MLFLOW_TRACKING_URI');
  },
  /** Where the bed's binaries are (helm, kubectl, …). */
  get bin() {
    return required('BED_BIN');
  },
  /** moto's ECR and CodeBuild. */
  get motoUrl() {
    return required('MOTO_URL');
  },
  get venv() {
    return required('BED_VENV');
  },
  get modelName() {
    return process.env.BED_MODEL_NAME ?? 'iris-clf';
  },
};

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(bed.kubeconfig);
  return kc;
}
