package dev.tandem.factory;

import dev.tandem.runtime.error.ModelFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TiersTest {
    @TempDir
    Path dir;

    Path write(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    @Test
    void defaultsAreTheSeedsPricesWithRisingFloors() {
        List<Tier> d = Tiers.defaults();
        assertEquals(List.of(0.0, 3.0, 6.0, 45.0, 150.0), d.stream().map(Tier::pricePerMTokens).toList());
        for (int i = 1; i < d.size(); i++) {
            assertTrue(d.get(i).minTokensPerSPerUser() > d.get(i - 1).minTokensPerSPerUser());
        }
    }

    @Test
    void readsYamlAndJson() throws IOException {
        List<Tier> yaml = Tiers.read(write("t.yaml", """
                tiers:
                  - name: free
                    price_per_m_tokens: 0
                    min_tokens_per_s_per_user: 10
                  - {name: fast, price_per_m_tokens: 45, min_tokens_per_s_per_user: 300, demand_tokens_per_s: 2.0e6}
                """));
        assertEquals(2, yaml.size());
        assertNull(yaml.getFirst().demandTokensPerS());
        assertEquals(2e6, yaml.get(1).demandTokensPerS());
        List<Tier> json = Tiers.read(write("t.json", """
                {"tiers": [{"name": "x", "price_per_m_tokens": 3, "min_tokens_per_s_per_user": 40}]}
                """));
        assertEquals(new Tier("x", 3, 40, null), json.getFirst());
    }

    void assertBad(String text, String... expected) throws IOException {
        Path p = write("bad.yaml", text);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Tiers.read(p));
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        for (String s : expected) {
            assertTrue(e.getMessage().contains(s), "'" + e.getMessage() + "' should contain '" + s + "'");
        }
    }

    @Test
    void malformedFilesNameTheLineAndTheField() throws IOException {
        assertBad("""
                tiers:
                  - name: free
                    price_per_m_tokens: 0
                    min_tokens_per_s_per_user: 10
                  - name: fast
                    price_per_m_tokens: lots
                    min_tokens_per_s_per_user: 300
                """, "bad.yaml", "line 6", "tiers[1].price_per_m_tokens");
        assertBad("""
                tiers:
                  - name: fast
                    price_per_m_tokens: -3
                    min_tokens_per_s_per_user: 300
                """, "line ", "tiers[0]", "price_per_m_tokens must be a finite number >= 0");
        assertBad("""
                tiers:
                  - name: fast
                    min_tokens_per_s_per_user: 300
                """, "line ", "tiers[0].price_per_m_tokens", "missing");
        assertBad("""
                tiers:
                  - name: fast
                    price_per_m_tokens: 3
                    min_tokens_per_s_per_user: 300
                    speed: 9
                """, "line 5", "tiers[0].speed", "unknown field");
        assertBad("""
                tiers:
                  - {name: a, price_per_m_tokens: 3, min_tokens_per_s_per_user: 30}
                  - {name: a, price_per_m_tokens: 6, min_tokens_per_s_per_user: 60}
                """, "tiers[1].name", "appears twice");
        assertBad("tiers: []\n", "needs at least one tier");
        assertBad("tiers: [ {name: a\n", "line ", "not YAML or JSON");
        assertBad("levels: 3\n", "line ", "field 'tiers'", "missing");
    }

    @Test
    void aMissingFileIsAnInputError() {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Tiers.read(dir.resolve("none.yaml")));
        assertTrue(e.getMessage().contains("none.yaml"), e.getMessage());
    }
}
