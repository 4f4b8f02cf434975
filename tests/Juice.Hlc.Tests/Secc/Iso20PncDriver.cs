using Juice.Hlc.Exi.Iso20;
using Juice.Hlc.Secc;
using Juice.Hlc.Secc.Iso20;
using Juice.Hlc.Session;

namespace Juice.Hlc.Tests.Secc;

/// <summary>An ISO 15118-20 DC SECC session with Plug &amp; Charge offered, driven request by request as an EV would.</summary>
internal class Iso20PncDriver
{
    public Iso20PncDriver(SimpleEvse evse, PlugAndChargeOptions pnc, TimeProvider time, bool tls = true)
    {
        var options = new SeccSessionOptions { IdentificationModes = [IdentificationMode.Contract, IdentificationMode.External], PlugAndCharge = pnc };
        Secc = new Iso20SeccSession(evse, V2gProtocol.Iso15118_20Dc, options, time, tls: tls);
    }

    public Iso20SeccSession Secc { get; }

    public byte[] Id { get; private set; } = new byte[8];

    /// <summary>The last reply's EXI where the session sends bytes it did not encode itself (a backend's response).</summary>
    public byte[]? LastExi { get; private set; }

    public async Task<V2GResponseType> Send(V2GMessageType request, Juice.Hlc.Exi.XmlDsig.SignatureType? signature = null)
    {
        request.Header = new MessageHeaderType { SessionID = Id, TimeStamp = 1, Signature = signature };
        var reply = await Secc.HandleAsync(request, CancellationToken.None);
        if (reply.Response is SessionSetupResType)
        {
            Id = reply.Response.Header.SessionID;
        }
        LastExi = reply.Exi;
        return (V2GResponseType)reply.Response;
    }

    public async Task<AuthorizationSetupResType> UpToAuthorizationSetup()
    {
        Assert.Equal(ResponseCodeType.OK_NewSessionEstablished, (await Send(new SessionSetupReqType { Header = null!, EVCCID = "WMIV1234567890ABCDEX" })).ResponseCode);
        return Assert.IsType<AuthorizationSetupResType>(await Send(new AuthorizationSetupReqType { Header = null! }));
    }
}
