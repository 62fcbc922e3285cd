// How the method works, in words, next to the demo.
export function Explainer() {
  return (
    <section className="card explainer" aria-labelledby="explainer-title">
      <h2 id="explainer-title">How it works</h2>
      <div className="explain-grid">
        <div>
          <h3>Reward models that speak token by token</h3>
          <p>
            An <em>autoregressive reward model</em> (ARM) is itself a small language model over the same vocabulary as
            the base. It was trained on pairs of answers, one preferred and one rejected, so that the sum of its own
            log-probabilities over an answer is a reward: <code>r(x, y) = β Σ<sub>t</sub> log π<sub>r</sub>(y<sub>t</sub> | x, y<sub>&lt;t</sub>)</code>.
            Because the reward splits into one term per token, it can steer every step of decoding, with no
            look-ahead and no rollouts.
          </p>
        </div>
        <div>
          <h3>Decoding</h3>
          <p>
            At every step the page adds each ARM's log-probabilities, times its weight α, to the base model's:
          </p>
          <p className="formula">
            log p(y<sub>t</sub>) = log π<sub>base</sub>(y<sub>t</sub>) + α<sub>help</sub> log π<sub>help</sub>(y<sub>t</sub>) + α<sub>harm</sub> log π<sub>harm</sub>(y<sub>t</sub>) + const
          </p>
          <p>
            then samples from the result. α = 0 for both is exactly the base model; the paper's settings
            (0.2, 4) and (0.8, 1) trade helpfulness against harmlessness without retraining anything. Each ARM costs one
            extra forward pass per token, with its own KV cache.
          </p>
        </div>
        <div>
          <h3>Reading the colours</h3>
          <p>
            An ARM's log-probability on its own only ranks tokens against other candidates at the same position. Each
            ARM here is a fine-tune of the base, so <code>log π<sub>r</sub> − log π<sub>base</sub></code> is what its
            preference training changed for that token: green where it now likes the token more than the base does,
            red where it likes it less. The tooltip shows the numbers and the five most likely tokens under the base
            and under the guided distribution.
          </p>
        </div>
        <div>
          <h3>The other decoders</h3>
          <p>
            <strong>ARGS</strong> scores the top-k candidate tokens with a trajectory-level reward model, k reward
            evaluations per token. <strong>Best-of-N</strong> samples N complete answers and keeps the one the reward
            models score best, N times the cost of the base. GenARM needs one ARM pass per objective per token.
          </p>
        </div>
      </div>
    </section>
  );
}
