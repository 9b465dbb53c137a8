package io.infermesh.xds.bench;

import io.infermesh.xds.config.ControlSettings;
import io.infermesh.xds.config.MeshConfig;
import io.infermesh.xds.server.ControlPlane;
import io.infermesh.xds.snapshot.MeshEndpoint;
import io.infermesh.xds.snapshot.MeshPolicy;
import io.infermesh.xds.snapshot.RegionPolicy;
import io.infermesh.xds.snapshot.Tier;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** A loopback control plane in its own JVM for the memory benchmark; prints its ports, runs until killed. */
public final class ControlPlaneMain {

  private ControlPlaneMain() {}

  public static void main(String[] args) throws Exception {
    int endpoints = args.length > 0 ? Integer.parseInt(args[0]) : 30;
    List<MeshEndpoint> eps = new ArrayList<>();
    String[] regions = {"eu-west", "us-east", "public-burst"};
    for (int i = 0; i < endpoints; i++) {
      String r = regions[i % 3];
      eps.add(MeshEndpoint.builder("core-inference", "10.0." + (i / 250) + "." + (i % 250), 9443, r)
          .tier(r.equals("public-burst") ? Tier.PUBLIC : Tier.PRIVATE).build());
    }
    MeshPolicy policy = MeshPolicy.defaults("mesh.local", List.of(new RegionPolicy("eu-west", Tier.PRIVATE),
        new RegionPolicy("us-east", Tier.PRIVATE), new RegionPolicy("public-burst", Tier.PUBLIC))).withMtls(false);
    ControlPlane plane = ControlPlane.builder(new MeshConfig(policy, ControlSettings.loopbackForTests(),
        Optional.empty(), eps)).start();
    System.out.println("PORTS " + plane.xdsPort() + " " + plane.adminPort() + " " + ProcessHandle.current().pid());
    System.out.flush();
    Thread.currentThread().join();
  }
}
