// The iOS credential store: one generic-password Keychain item per key, readable after the
// device's first unlock since boot, never leaving this device (not in backups restored to another
// device, not in iCloud Keychain). Called from C# (KeychainStore) through [DllImport("__Internal")].
// Every function answers the OSStatus (0: done); a missing item is errSecItemNotFound (-25300).
#import <Foundation/Foundation.h>
#import <Security/Security.h>
#include <stdlib.h>
#include <string.h>

static NSMutableDictionary *GameBackendKeychain_Query(const char *service, const char *key)
{
    NSMutableDictionary *query = [NSMutableDictionary dictionary];
    query[(__bridge id)kSecClass] = (__bridge id)kSecClassGenericPassword;
    query[(__bridge id)kSecAttrService] = [NSString stringWithUTF8String:service];
    query[(__bridge id)kSecAttrAccount] = [NSString stringWithUTF8String:key];
    return query;
}

extern "C" {

// The value kept under (service, key), or NULL when there is none or it cannot be read (*status
// says which). The string is malloc'ed: the C# marshaller frees it.
char *GameBackendKeychain_Get(const char *service, const char *key, int *status)
{
    NSMutableDictionary *query = GameBackendKeychain_Query(service, key);
    query[(__bridge id)kSecReturnData] = @YES;
    query[(__bridge id)kSecMatchLimit] = (__bridge id)kSecMatchLimitOne;
    CFTypeRef found = NULL;
    OSStatus result = SecItemCopyMatching((__bridge CFDictionaryRef)query, &found);
    *status = (int)result;
    if (result != errSecSuccess || found == NULL) return NULL;
    NSData *data = (__bridge_transfer NSData *)found;
    char *copy = (char *)malloc(data.length + 1);
    if (copy == NULL) {
        *status = (int)errSecAllocate;
        return NULL;
    }
    memcpy(copy, data.bytes, data.length);
    copy[data.length] = '\0';
    return copy;
}

// Keep value under (service, key): update the item, or add it when there is none.
int GameBackendKeychain_Set(const char *service, const char *key, const char *value)
{
    NSData *data = [NSData dataWithBytes:value length:strlen(value)];
    NSMutableDictionary *query = GameBackendKeychain_Query(service, key);
    NSDictionary *update = @{
        (__bridge id)kSecValueData: data,
        (__bridge id)kSecAttrAccessible: (__bridge id)kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
    };
    OSStatus result = SecItemUpdate((__bridge CFDictionaryRef)query, (__bridge CFDictionaryRef)update);
    if (result == errSecItemNotFound) {
        [query addEntriesFromDictionary:update];
        result = SecItemAdd((__bridge CFDictionaryRef)query, NULL);
    }
    return (int)result;
}

// Forget (service, key); nothing kept is not an error.
int GameBackendKeychain_Delete(const char *service, const char *key)
{
    OSStatus result = SecItemDelete((__bridge CFDictionaryRef)GameBackendKeychain_Query(service, key));
    return result == errSecItemNotFound ? (int)errSecSuccess : (int)result;
}

}
