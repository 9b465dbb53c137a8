package io.infermesh.core.lifecycle;

import io.infermesh.core.engine.LayerRange;
import io.infermesh.core.engine.LlamaConfig;
import io.infermesh.core.engine.LlamaModel;
import io.infermesh.core.schedule.StepRunner;
import java.io.IOException;

/**
 * Where a served model's layers run: all on this node ({@link #WHOLE}), or the first layers here
 * and the rest on pipeline stages behind a runner that forwards hidden states to them.
 */
public interface Placement {

  /** Every layer on this node, sampled by a {@link ModelRunner}. */
  Placement WHOLE = new Placement() {
    @Override
    public LayerRange layers(LlamaConfig config) {
      return LayerRange.all(config.layers());
    }

    @Override
    public StepRunner runner(LlamaModel engine, Identity model) {
      return new ModelRunner(engine);
    }
  };

  /** The layers this node loads. */
  LayerRange layers(LlamaConfig config);

  /**
   * The runner over the loaded {@code engine}. If it is {@link AutoCloseable}, it is closed with the
   * model.
   *
   * @throws IOException if it cannot be set up
   */
  StepRunner runner(LlamaModel engine, Identity model) throws IOException;

  /**
   * What the runner may need to know about the model to reach the other stages.
   *
   * @param name the configured model name
   * @param sha256 digest of the model file
   * @param kvSlots KV slots the scheduler hands out
   */
  record Identity(String name, String sha256, int kvSlots) {}
}
