package dev.tandem.factory;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A price tier: output tokens sold at {@code pricePerMTokens} dollars per million, to requests served
 * at no less than {@code minTokensPerSPerUser}; at most {@code demandTokensPerS} of them when given.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Tier(@JsonProperty("name") String name,
                   @JsonProperty("price_per_m_tokens") double pricePerMTokens,
                   @JsonProperty("min_tokens_per_s_per_user") double minTokensPerSPerUser,
                   @JsonProperty("demand_tokens_per_s") Double demandTokensPerS) {
    @JsonCreator
    public Tier(@JsonProperty(value = "name", required = true) String name,
                @JsonProperty(value = "price_per_m_tokens", required = true) double pricePerMTokens,
                @JsonProperty(value = "min_tokens_per_s_per_user", required = true) double minTokensPerSPerUser,
                @JsonProperty("demand_tokens_per_s") Double demandTokensPerS) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("a tier needs a name");
        }
        if (!(pricePerMTokens >= 0) || !Double.isFinite(pricePerMTokens)) {
            throw new IllegalArgumentException("price_per_m_tokens must be a finite number >= 0, got " + pricePerMTokens);
        }
        if (!(minTokensPerSPerUser >= 0) || !Double.isFinite(minTokensPerSPerUser)) {
            throw new IllegalArgumentException("min_tokens_per_s_per_user must be a finite number >= 0, got " + minTokensPerSPerUser);
        }
        if (demandTokensPerS != null && (!(demandTokensPerS >= 0) || demandTokensPerS.isInfinite())) {
            throw new IllegalArgumentException("demand_tokens_per_s must be a finite number >= 0, got " + demandTokensPerS);
        }
        this.name = name;
        this.pricePerMTokens = pricePerMTokens;
        this.minTokensPerSPerUser = minTokensPerSPerUser;
        this.demandTokensPerS = demandTokensPerS;
    }

    /** Dollars per output token. */
    public double dollarsPerToken() { return pricePerMTokens / 1e6; }

    public Tier withPrice(double price) { return new Tier(name, price, minTokensPerSPerUser, demandTokensPerS); }

    public Tier withDemand(Double demand) { return new Tier(name, pricePerMTokens, minTokensPerSPerUser, demand); }
}
