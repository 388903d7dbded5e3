using System;
using System.Reflection;
using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using Newtonsoft.Json.Serialization;

namespace GameBackend
{
    /// <summary>
    /// JSON the way the API speaks it: snake_case member names (object members only, never
    /// dictionary keys such as stat names or event data), nulls omitted, unknown fields ignored.
    /// </summary>
    public static class Json
    {
        public static readonly JsonSerializerSettings Settings = new JsonSerializerSettings
        {
            ContractResolver = new SnakeCaseMembers(),
            NullValueHandling = NullValueHandling.Ignore,
            MissingMemberHandling = MissingMemberHandling.Ignore,
            DateParseHandling = DateParseHandling.None,
        };

        public static string Serialize(object value)
        {
            return JsonConvert.SerializeObject(value, Settings);
        }

        public static T Deserialize<T>(string json)
        {
            return JsonConvert.DeserializeObject<T>(json, Settings);
        }

        /// <summary>Parse JSON text keeping date-like strings as strings.</summary>
        public static JToken Parse(string json)
        {
            using (var reader = new JsonTextReader(new System.IO.StringReader(string.IsNullOrEmpty(json) ? "{}" : json)))
            {
                reader.DateParseHandling = DateParseHandling.None;
                return JToken.ReadFrom(reader);
            }
        }

        public static T Convert<T>(JToken token)
        {
            return token == null ? default(T) : token.ToObject<T>(JsonSerializer.Create(Settings));
        }

        public static string SnakeCase(string name)
        {
            var builder = new StringBuilder(name.Length + 4);
            for (var i = 0; i < name.Length; i++)
            {
                var c = name[i];
                if (char.IsUpper(c))
                {
                    if (i > 0 && name[i - 1] != '_') builder.Append('_');
                    builder.Append(char.ToLowerInvariant(c));
                }
                else
                {
                    builder.Append(c);
                }
            }
            return builder.ToString();
        }

        private sealed class SnakeCaseMembers : DefaultContractResolver
        {
            protected override JsonProperty CreateProperty(MemberInfo member, MemberSerialization memberSerialization)
            {
                var property = base.CreateProperty(member, memberSerialization);
                if (member.GetCustomAttributes(typeof(JsonPropertyAttribute), true).Length == 0)
                {
                    property.PropertyName = SnakeCase(member.Name);
                }
                return property;
            }
        }
    }
}
