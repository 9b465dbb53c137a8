package io.infermesh.xds.discovery;

import static java.util.Objects.requireNonNull;

import com.ecwid.consul.v1.ConsulClient;
import com.ecwid.consul.v1.agent.model.NewService;
import io.infermesh.xds.config.ConsulSettings;
import io.infermesh.xds.snapshot.MeshEndpoint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers a mesh node with the local Consul agent ({@code PUT /v1/agent/service/register}) so
 * {@link ConsulEndpointSource} finds it, with the attributes it reads (meta and {@code key=value}
 * tags: region, zone, tier, model, version, utilization) and a gRPC health check on the node's
 * {@code grpc.health.v1} service. {@link #close()} deregisters. {@link #reportUtilization}
 * re-registers with a new utilization (Consul keeps checks across re-registration).
 * Thread-safe (calls are serialized).
 */
public final class ConsulRegistrar implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ConsulRegistrar.class);

  private final ConsulClient client;
  private final String token;
  private final Duration checkInterval;
  private final boolean checkUsesTls;
  // @GuardedBy("this")
  private MeshEndpoint registered;

  /**
   * @param checkInterval how often Consul checks the node; it deregisters a node critical for
   *     one minute
   * @param checkUsesTls whether the health check connects with TLS (mesh servers require it)
   */
  public ConsulRegistrar(ConsulSettings settings, Duration checkInterval, boolean checkUsesTls) {
    requireNonNull(settings, "settings");
    this.client = new ConsulClient(
        settings.address().getScheme() + "://" + settings.address().getHost(), settings.port());
    this.token = settings.token();
    this.checkInterval = requireNonNull(checkInterval, "checkInterval");
    this.checkUsesTls = checkUsesTls;
  }

  /** Registers (or re-registers) {@code endpoint}; its id is the Consul service id. */
  public synchronized void register(MeshEndpoint endpoint) {
    requireNonNull(endpoint, "endpoint");
    NewService service = new NewService();
    service.setId(endpoint.id());
    service.setName(endpoint.service());
    service.setAddress(endpoint.host());
    service.setPort(endpoint.port());
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("region", endpoint.region());
    if (!endpoint.zone().isEmpty()) {
      meta.put("zone", endpoint.zone());
    }
    meta.put("tier", endpoint.tier().yamlName());
    meta.put("model", endpoint.model());
    meta.put("version", endpoint.version());
    meta.put("utilization", Double.toString(endpoint.utilization()));
    service.setMeta(meta);
    List<String> tags = new ArrayList<>();
    meta.forEach((k, v) -> {
      if (!k.equals("utilization")) {
        tags.add(k + "=" + v);
      }
    });
    service.setTags(tags);
    NewService.Check check = new NewService.Check();
    check.setGrpc(endpoint.host() + ":" + endpoint.port());
    check.setGrpcUseTLS(checkUsesTls);
    if (checkUsesTls) {
      // the mesh CA is not in Consul's trust store; the check proves liveness, not identity
      check.setTlsSkipVerify(true);
    }
    check.setInterval(checkInterval.toSeconds() + "s");
    check.setTimeout("2s");
    check.setDeregisterCriticalServiceAfter("1m");
    service.setCheck(check);
    if (token.isEmpty()) {
      client.agentServiceRegister(service);
    } else {
      client.agentServiceRegister(service, token);
    }
    if (registered == null) {
      log.info("consul: registered {} ({}:{}) as {}", endpoint.id(), endpoint.host(), endpoint.port(), endpoint.service());
    }
    registered = endpoint;
  }

  /** Re-registers with a new utilization (what the burst policy reads). */
  public synchronized void reportUtilization(double utilization) {
    if (registered == null) {
      throw new IllegalStateException("not registered");
    }
    register(registered.withUtilization(utilization));
  }

  @Override
  public synchronized void close() {
    if (registered == null) {
      return;
    }
    try {
      if (token.isEmpty()) {
        client.agentServiceDeregister(registered.id());
      } else {
        client.agentServiceDeregister(registered.id(), token);
      }
      log.info("consul: deregistered {}", registered.id());
    } catch (RuntimeException e) {
      log.warn("consul: could not deregister {} ({}); Consul drops it after its check stays critical for 1m",
          registered.id(), e.getMessage());
    }
    registered = null;
  }
}
