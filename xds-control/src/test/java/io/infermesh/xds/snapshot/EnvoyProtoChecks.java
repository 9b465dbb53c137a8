package io.infermesh.xds.snapshot;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.google.protobuf.Any;
import com.google.protobuf.Descriptors;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * What we can check about Envoy configuration without an Envoy binary (none can be installed
 * here): every message parses into Envoy's v3 protos with no unknown field, every {@code Any}
 * names a type that exists in Envoy's API and unpacks cleanly, and the JSON form round-trips
 * through a strict parser (no {@code ignoringUnknownFields}).
 */
final class EnvoyProtoChecks {

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final ObjectMapper JSON = new ObjectMapper();

  private EnvoyProtoChecks() {}

  /** Resolves a type URL such as {@code type.googleapis.com/envoy.config.cluster.v3.Cluster}. */
  static Descriptors.Descriptor resolve(String typeUrl) {
    String fullName = typeUrl.substring(typeUrl.lastIndexOf('/') + 1);
    for (String prefix : List.of("io.envoyproxy.", "com.github.", "com.google.protobuf.")) {
      String className = prefix.equals("com.google.protobuf.")
          ? "com.google.protobuf." + fullName.substring(fullName.lastIndexOf('.') + 1)
          : prefix + fullName;
      try {
        Class<?> type = Class.forName(className);
        Descriptors.Descriptor d = (Descriptors.Descriptor) type.getMethod("getDescriptor").invoke(null);
        if (d.getFullName().equals(fullName)) {
          return d;
        }
      } catch (ReflectiveOperationException | ClassCastException e) {
        // try the next prefix
      }
    }
    throw new AssertionError("type URL does not resolve to an Envoy v3 API type: " + typeUrl);
  }

  /**
   * Fails unless {@code message} and everything nested in it (through {@code Any} too) has no
   * unknown fields and no deprecated v2 types, and its JSON form parses back strictly.
   */
  static void assertClean(Message message) {
    assertClean(message, message.getDescriptorForType().getName());
    String json;
    try {
      JsonFormat.TypeRegistry registry = registryFor(message);
      json = JsonFormat.printer().usingTypeRegistry(registry).print(message);
      Message.Builder back = message.newBuilderForType();
      JsonFormat.parser().usingTypeRegistry(registry).merge(json, back);
      if (!back.build().equals(message)) {
        throw new AssertionError("JSON round trip changed " + message.getDescriptorForType().getFullName());
      }
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError("JSON round trip of " + message.getDescriptorForType().getFullName() + " failed", e);
    }
  }

  private static void assertClean(Message message, String path) {
    if (!message.getUnknownFields().asMap().isEmpty()) {
      throw new AssertionError(path + " has unknown fields " + message.getUnknownFields().asMap().keySet());
    }
    String fullName = message.getDescriptorForType().getFullName();
    if (fullName.startsWith("envoy.api.v2") || fullName.contains(".v2.")) {
      throw new AssertionError(path + " uses the removed v2 API type " + fullName);
    }
    if (message instanceof Any any) {
      Descriptors.Descriptor d = resolve(any.getTypeUrl());
      try {
        Message inner = com.google.protobuf.DynamicMessage.getDefaultInstance(d).getParserForType()
            .parseFrom(any.getValue());
        Message typed = typedDefault(d).getParserForType().parseFrom(any.getValue());
        if (!inner.getUnknownFields().asMap().isEmpty()) {
          throw new AssertionError(path + " Any(" + any.getTypeUrl() + ") has unknown fields");
        }
        assertClean(typed, path + "<" + d.getName() + ">");
      } catch (InvalidProtocolBufferException e) {
        throw new AssertionError(path + " Any(" + any.getTypeUrl() + ") does not parse", e);
      }
      return;
    }
    for (Map.Entry<Descriptors.FieldDescriptor, Object> f : message.getAllFields().entrySet()) {
      if (f.getKey().getJavaType() != Descriptors.FieldDescriptor.JavaType.MESSAGE) {
        continue;
      }
      String child = path + "." + f.getKey().getName();
      if (f.getKey().isRepeated()) {
        for (Object o : (List<?>) f.getValue()) {
          assertClean((Message) o, child);
        }
      } else {
        assertClean((Message) f.getValue(), child);
      }
    }
  }

  private static Message typedDefault(Descriptors.Descriptor d) {
    try {
      String className = d.getFile().getOptions().getJavaPackage() + "." + d.getName();
      return (Message) Class.forName(className).getMethod("getDefaultInstance").invoke(null);
    } catch (ReflectiveOperationException e) {
      throw new AssertionError("no generated class for " + d.getFullName(), e);
    }
  }

  /** A registry with every type an {@code Any} in {@code message} (recursively) names. */
  private static JsonFormat.TypeRegistry registryFor(Message message) {
    JsonFormat.TypeRegistry.Builder registry = JsonFormat.TypeRegistry.newBuilder();
    collectAnyTypes(message, registry);
    return registry.build();
  }

  private static void collectAnyTypes(Message message, JsonFormat.TypeRegistry.Builder registry) {
    if (message instanceof Any any) {
      Descriptors.Descriptor d = resolve(any.getTypeUrl());
      registry.add(d);
      try {
        collectAnyTypes(typedDefault(d).getParserForType().parseFrom(any.getValue()), registry);
      } catch (InvalidProtocolBufferException e) {
        throw new AssertionError(e);
      }
      return;
    }
    for (Map.Entry<Descriptors.FieldDescriptor, Object> f : message.getAllFields().entrySet()) {
      if (f.getKey().getJavaType() != Descriptors.FieldDescriptor.JavaType.MESSAGE) {
        continue;
      }
      if (f.getKey().isRepeated()) {
        for (Object o : (List<?>) f.getValue()) {
          collectAnyTypes((Message) o, registry);
        }
      } else {
        collectAnyTypes((Message) f.getValue(), registry);
      }
    }
  }

  /**
   * Parses an Envoy bootstrap YAML file strictly into {@link Bootstrap}: unknown fields, unknown
   * enum values and unresolvable {@code @type}s all fail.
   */
  static Bootstrap parseBootstrap(Path yamlFile) throws IOException {
    JsonNode tree = YAML.readTree(Files.readString(yamlFile));
    JsonFormat.TypeRegistry.Builder registry = JsonFormat.TypeRegistry.newBuilder();
    for (String typeUrl : typeUrls(tree)) {
      registry.add(resolve(typeUrl));
    }
    Bootstrap.Builder bootstrap = Bootstrap.newBuilder();
    JsonFormat.parser().usingTypeRegistry(registry.build()).merge(JSON.writeValueAsString(tree), bootstrap);
    Bootstrap parsed = bootstrap.build();
    assertClean(parsed);
    return parsed;
  }

  private static List<String> typeUrls(JsonNode node) {
    List<String> urls = new ArrayList<>();
    if (node.isObject()) {
      JsonNode type = node.get("@type");
      if (type != null) {
        urls.add(type.asText());
      }
      for (Iterator<JsonNode> it = node.elements(); it.hasNext(); ) {
        urls.addAll(typeUrls(it.next()));
      }
    } else if (node.isArray()) {
      node.forEach(n -> urls.addAll(typeUrls(n)));
    }
    return urls;
  }
}
