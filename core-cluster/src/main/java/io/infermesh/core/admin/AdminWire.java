package io.infermesh.core.admin;

import io.infermesh.api.v1.DrainResponse;
import io.infermesh.api.v1.ModelState;
import io.infermesh.api.v1.ModelVersion;
import io.infermesh.api.v1.WeightFile;
import io.infermesh.core.lifecycle.HostedVersion;
import io.infermesh.core.shard.StageVersions;
import io.infermesh.node.admin.Rotation;
import java.util.Map;
import java.util.function.BooleanSupplier;

/** Versions as {@code infermesh.v1.ModelVersion}. Stateless. */
final class AdminWire {
  private AdminWire() {}

  static ModelVersion version(HostedVersion v, ModelState state) {
    return ModelVersion.newBuilder().setName(v.model().name()).setVersion(v.model().version()).setState(state)
        .setPath(v.source().path().toString()).addAllWeightFiles(files(v.weightDigests()))
        .setInFlight(state == ModelState.MODEL_STATE_PREVIOUS ? 0 : v.model().inFlight()).build();
  }

  static ModelVersion version(StageVersions.Listed v) {
    ModelState state = switch (v.state()) {
      case "serving" -> ModelState.MODEL_STATE_SERVING;
      case "draining" -> ModelState.MODEL_STATE_DRAINING;
      case "previous" -> ModelState.MODEL_STATE_PREVIOUS;
      default -> ModelState.MODEL_STATE_PREPARED;
    };
    return ModelVersion.newBuilder().setName(v.name()).setVersion(v.version()).setState(state)
        .setPath(v.source().path().toString()).addAllWeightFiles(files(v.digests()))
        .setInFlight(state == ModelState.MODEL_STATE_PREVIOUS ? 0 : v.streams()).build();
  }

  /** A node's rotation after a drain or undrain. */
  static DrainResponse rotation(Rotation rotation, BooleanSupplier ready) {
    return DrainResponse.newBuilder().setDrained(rotation.drained()).setReady(ready.getAsBoolean())
        .setInFlight(rotation.inFlight()).build();
  }

  private static Iterable<WeightFile> files(Map<String, String> digests) {
    return digests.entrySet().stream().sorted(Map.Entry.comparingByKey())
        .map(e -> WeightFile.newBuilder().setFile(e.getKey()).setSha256(e.getValue()).build()).toList();
  }
}
