package android.security.keystore;

import java.security.spec.AlgorithmParameterSpec;

public final class KeyGenParameterSpec implements AlgorithmParameterSpec {
    public static final class Builder {
        public Builder(String keystoreAlias, int purposes) {
            throw new UnsupportedOperationException("stub");
        }

        public Builder setBlockModes(String... blockModes) {
            throw new UnsupportedOperationException("stub");
        }

        public Builder setEncryptionPaddings(String... paddings) {
            throw new UnsupportedOperationException("stub");
        }

        public Builder setKeySize(int keySize) {
            throw new UnsupportedOperationException("stub");
        }

        public KeyGenParameterSpec build() {
            throw new UnsupportedOperationException("stub");
        }
    }
}
