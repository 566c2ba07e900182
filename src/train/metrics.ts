/** Classification metrics: accuracy, per-class precision / recall / F1, macro F1, the confusion matrix. */

export interface Metrics {
  accuracy: number;
  macroF1: number;
  perClass: Record<string, { precision: number; recall: number; f1: number; support: number }>;
  /** confusion[gold][predicted] */
  confusion: number[][];
  labels: string[];
}

/** Metrics of predicted against gold label ids (indices into `labels`). */
export function metrics(gold: number[], predicted: number[], labels: string[]): Metrics {
  const K = labels.length;
  const confusion = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  gold.forEach((g, i) => confusion[g]![predicted[i]!]!++);
  const perClass: Metrics['perClass'] = {};
  let f1sum = 0;
  labels.forEach((name, k) => {
    const tp = confusion[k]![k]!;
    const support = confusion[k]!.reduce((a, b) => a + b, 0);
    const predictedK = confusion.reduce((a, row) => a + row[k]!, 0);
    const precision = predictedK ? tp / predictedK : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    perClass[name] = { precision, recall, f1, support };
    f1sum += f1;
  });
  const correct = gold.filter((g, i) => g === predicted[i]).length;
  return { accuracy: correct / Math.max(1, gold.length), macroF1: f1sum / K, perClass, confusion, labels };
}
