package com.gamebackend.client;

import android.content.Context;
import android.content.SharedPreferences;
import android.os.Build;
import android.security.keystore.KeyGenParameterSpec;
import android.security.keystore.KeyProperties;
import android.util.Base64;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import javax.crypto.Cipher;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

/**
 * The Android credential store: each value sealed with AES-256-GCM under a key that lives in the
 * Android Keystore (it never leaves it, and on devices with secure hardware it lives there), the
 * sealed bytes in this app's private SharedPreferences. The key name is bound into each seal
 * (additional authenticated data), so a value copied under another key does not open. Called
 * from C# (AndroidKeystoreStore) through AndroidJavaClass; every method is static.
 */
public final class GameBackendKeystore {
    private static final String PROVIDER = "AndroidKeyStore";
    private static final String ALIAS = "gamebackend.credentials.key";
    private static final String PREFERENCES = "gamebackend.credentials";
    private static final String TRANSFORMATION = "AES/GCM/NoPadding";
    private static final int TAG_BITS = 128;
    private static final int VERSION = 1;

    private GameBackendKeystore() {}

    /** False below Android 6.0 (API 23), where the Keystore has no AES keys: the caller keeps its own store. */
    public static boolean available() {
        return Build.VERSION.SDK_INT >= 23;
    }

    /** The value kept under this key, or null when there is none. Throws when it is kept but cannot be opened. */
    public static synchronized String get(Context context, String key) throws GeneralSecurityException {
        String stored = preferences(context).getString(key, null);
        if (stored == null) return null;
        Key secret = keystore().getKey(ALIAS, null);
        if (secret == null) throw new GeneralSecurityException("the Keystore key is gone (the data was restored onto another device?)");
        return open(secret, key, Base64.decode(stored, Base64.NO_WRAP));
    }

    public static synchronized void set(Context context, String key, String value) throws GeneralSecurityException {
        String sealed = Base64.encodeToString(seal(secretKey(), key, value), Base64.NO_WRAP);
        if (!preferences(context).edit().putString(key, sealed).commit()) {
            throw new IllegalStateException("SharedPreferences did not write " + key);
        }
    }

    public static synchronized void delete(Context context, String key) {
        if (!preferences(context).edit().remove(key).commit()) {
            throw new IllegalStateException("SharedPreferences did not delete " + key);
        }
    }

    /** [version][IV length][IV][ciphertext and tag]; the IV comes from the cipher (the Keystore insists on a fresh one). */
    static byte[] seal(Key secret, String key, String value) throws GeneralSecurityException {
        Cipher cipher = Cipher.getInstance(TRANSFORMATION);
        cipher.init(Cipher.ENCRYPT_MODE, secret);
        cipher.updateAAD(key.getBytes(StandardCharsets.UTF_8));
        byte[] iv = cipher.getIV();
        byte[] body = cipher.doFinal(value.getBytes(StandardCharsets.UTF_8));
        byte[] out = new byte[2 + iv.length + body.length];
        out[0] = (byte) VERSION;
        out[1] = (byte) iv.length;
        System.arraycopy(iv, 0, out, 2, iv.length);
        System.arraycopy(body, 0, out, 2 + iv.length, body.length);
        return out;
    }

    static String open(Key secret, String key, byte[] sealed) throws GeneralSecurityException {
        if (sealed.length < 2 || sealed[0] != VERSION || sealed.length < 2 + sealed[1]) {
            throw new GeneralSecurityException("not a sealed value");
        }
        int ivLength = sealed[1];
        Cipher cipher = Cipher.getInstance(TRANSFORMATION);
        cipher.init(Cipher.DECRYPT_MODE, secret, new GCMParameterSpec(TAG_BITS, sealed, 2, ivLength));
        cipher.updateAAD(key.getBytes(StandardCharsets.UTF_8));
        byte[] plain = cipher.doFinal(sealed, 2 + ivLength, sealed.length - 2 - ivLength);
        return new String(plain, StandardCharsets.UTF_8);
    }

    private static SharedPreferences preferences(Context context) {
        return context.getApplicationContext().getSharedPreferences(PREFERENCES, Context.MODE_PRIVATE);
    }

    private static KeyStore keystore() throws GeneralSecurityException {
        KeyStore store = KeyStore.getInstance(PROVIDER);
        try {
            store.load(null);
        } catch (java.io.IOException e) {
            throw new GeneralSecurityException("the Keystore cannot be loaded", e);
        }
        return store;
    }

    /** The app's key, made on first use: AES-256, GCM only, never exported. */
    private static SecretKey secretKey() throws GeneralSecurityException {
        Key existing = keystore().getKey(ALIAS, null);
        if (existing instanceof SecretKey) return (SecretKey) existing;
        KeyGenerator generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, PROVIDER);
        generator.init(new KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_ENCRYPT | KeyProperties.PURPOSE_DECRYPT)
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .setKeySize(256)
            .build());
        return generator.generateKey();
    }
}
