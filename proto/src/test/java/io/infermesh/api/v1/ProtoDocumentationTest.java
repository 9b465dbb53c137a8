package io.infermesh.api.v1;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.DescriptorProtos.SourceCodeInfo.Location;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The contract is read by people writing clients in other languages: every service, method,
 * message, field, enum and enum value must carry a comment. Reads the descriptor set protoc wrote
 * with source info, so a new undocumented field fails the build.
 */
class ProtoDocumentationTest {

  // Field numbers of FileDescriptorProto / DescriptorProto / ... used in SourceCodeInfo paths.
  private static final int FILE_MESSAGE_TYPE = 4;
  private static final int FILE_ENUM_TYPE = 5;
  private static final int FILE_SERVICE = 6;
  private static final int MESSAGE_FIELD = 2;
  private static final int MESSAGE_NESTED_TYPE = 3;
  private static final int MESSAGE_ENUM_TYPE = 4;
  private static final int ENUM_VALUE = 2;
  private static final int SERVICE_METHOD = 2;

  private static final Path DESCRIPTOR_SET =
      Path.of("target/generated-resources/protobuf/descriptor-sets/infermesh-v1.protoset");

  @Test
  void everyElement_ofEveryInfermeshFile_hasAComment() throws IOException {
    List<String> undocumented = new ArrayList<>();
    List<FileDescriptorProto> files = infermeshFiles();
    assertThat(files).extracting(FileDescriptorProto::getName).contains("infermesh/v1/inference.proto");

    for (FileDescriptorProto file : files) {
      Map<List<Integer>, Location> locations = new HashMap<>();
      for (Location location : file.getSourceCodeInfo().getLocationList()) {
        locations.put(location.getPathList(), location);
      }
      for (int s = 0; s < file.getServiceCount(); s++) {
        var service = file.getService(s);
        check(locations, List.of(FILE_SERVICE, s), file.getName() + " service " + service.getName(), undocumented);
        for (int m = 0; m < service.getMethodCount(); m++) {
          check(locations, List.of(FILE_SERVICE, s, SERVICE_METHOD, m),
              service.getName() + "." + service.getMethod(m).getName(), undocumented);
        }
      }
      for (int i = 0; i < file.getMessageTypeCount(); i++) {
        checkMessage(locations, List.of(FILE_MESSAGE_TYPE, i), file.getMessageType(i), undocumented);
      }
      for (int i = 0; i < file.getEnumTypeCount(); i++) {
        checkEnum(locations, List.of(FILE_ENUM_TYPE, i), file.getEnumType(i), undocumented);
      }
    }
    assertThat(undocumented).as("proto elements without a comment").isEmpty();
  }

  @Test
  void generateRequest_withChatAndPrompt_keepsOnlyTheLastInput() {
    GenerateRequest request = GenerateRequest.newBuilder()
        .setChat(ChatMessages.newBuilder().addMessages(ChatMessage.newBuilder().setRole("user").setContent("hi")))
        .setPrompt("raw")
        .build();

    assertThat(request.getInputCase()).isEqualTo(GenerateRequest.InputCase.PROMPT);
    assertThat(request.hasChat()).isFalse();
  }

  @Test
  void samplingParams_unsetFields_areDistinguishableFromZero() {
    SamplingParams unset = SamplingParams.getDefaultInstance();
    SamplingParams greedy = SamplingParams.newBuilder().setTemperature(0f).build();

    assertThat(unset.hasTemperature()).isFalse();
    assertThat(greedy.hasTemperature()).isTrue();
    assertThat(greedy.getTemperature()).isZero();
  }

  private static List<FileDescriptorProto> infermeshFiles() throws IOException {
    assertThat(DESCRIPTOR_SET).as("descriptor set written by protoc during generate-sources").exists();
    try (InputStream in = Files.newInputStream(DESCRIPTOR_SET)) {
      return FileDescriptorSet.parseFrom(in).getFileList().stream()
          .filter(f -> f.getPackage().startsWith("infermesh."))
          .toList();
    }
  }

  private static void checkMessage(
      Map<List<Integer>, Location> locations, List<Integer> path, DescriptorProto message, List<String> undocumented) {
    if (message.getOptions().getMapEntry()) {
      return; // synthesized by protoc for map fields; the map field itself is checked
    }
    check(locations, path, "message " + message.getName(), undocumented);
    for (int f = 0; f < message.getFieldCount(); f++) {
      check(locations, append(path, MESSAGE_FIELD, f), message.getName() + "." + message.getField(f).getName(),
          undocumented);
    }
    for (int n = 0; n < message.getNestedTypeCount(); n++) {
      checkMessage(locations, append(path, MESSAGE_NESTED_TYPE, n), message.getNestedType(n), undocumented);
    }
    for (int e = 0; e < message.getEnumTypeCount(); e++) {
      checkEnum(locations, append(path, MESSAGE_ENUM_TYPE, e), message.getEnumType(e), undocumented);
    }
  }

  private static void checkEnum(
      Map<List<Integer>, Location> locations,
      List<Integer> path,
      com.google.protobuf.DescriptorProtos.EnumDescriptorProto enumType,
      List<String> undocumented) {
    check(locations, path, "enum " + enumType.getName(), undocumented);
    for (int v = 0; v < enumType.getValueCount(); v++) {
      check(locations, append(path, ENUM_VALUE, v), enumType.getName() + "." + enumType.getValue(v).getName(),
          undocumented);
    }
  }

  private static void check(Map<List<Integer>, Location> locations, List<Integer> path, String what, List<String> undocumented) {
    Location location = locations.get(path);
    boolean documented = location != null
        && (!location.getLeadingComments().isBlank() || !location.getTrailingComments().isBlank());
    if (!documented) {
      undocumented.add(what);
    }
  }

  private static List<Integer> append(List<Integer> path, int kind, int index) {
    List<Integer> result = new ArrayList<>(path);
    result.add(kind);
    result.add(index);
    return result;
  }
}
