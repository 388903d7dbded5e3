package com.gamebackend.client;

import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;

/**
 * The plugin's seal and open on the JDK, with a software AES-256 key standing in for the Keystore's:
 * a round trip, a fresh IV per seal, and refusals for a changed byte, another key name, another key
 * and a value that is not sealed. Prints one line per check; exit code 1 when one fails.
 */
public final class KeystoreSealCheck {
    private static int failed;

    public static void main(String[] args) throws Exception {
        KeyGenerator generator = KeyGenerator.getInstance("AES");
        generator.init(256);
        SecretKey key = generator.generateKey();
        String value = "{\"username\":\"guest-1\",\"password\":\"p\u00e4ss\"}";

        byte[] sealed = GameBackendKeystore.seal(key, "gamebackend.credentials", value);
        check("round trip", value.equals(GameBackendKeystore.open(key, "gamebackend.credentials", sealed)));
        check("no plain text in the sealed bytes", !new String(sealed, "ISO-8859-1").contains("guest-1"));
        byte[] again = GameBackendKeystore.seal(key, "gamebackend.credentials", value);
        check("a fresh IV per seal", !Arrays.equals(Arrays.copyOfRange(sealed, 2, 2 + sealed[1]), Arrays.copyOfRange(again, 2, 2 + again[1])));

        byte[] changed = sealed.clone();
        changed[changed.length - 1] ^= 1;
        refused("a changed byte", key, "gamebackend.credentials", changed);
        refused("another key name", key, "other.key", sealed);
        refused("another key", generator.generateKey(), "gamebackend.credentials", sealed);
        refused("not a sealed value", key, "gamebackend.credentials", new byte[] {9, 9, 9});

        System.out.println(failed == 0 ? "all seal checks passed" : failed + " seal checks failed");
        System.exit(failed == 0 ? 0 : 1);
    }

    private static void refused(String what, SecretKey key, String name, byte[] sealed) {
        try {
            GameBackendKeystore.open(key, name, sealed);
            check(what + " is refused", false);
        } catch (GeneralSecurityException expected) {
            check(what + " is refused", true);
        }
    }

    private static void check(String what, boolean ok) {
        System.out.println((ok ? "PASS " : "FAIL ") + what);
        if (!ok) failed++;
    }
}
